
# Copyright (c) 2026, the occ developers
#
# 004_default_mode_sources.pl: nothing a client without privilege does
# before occ's library is loaded weakens the occ.default_mode that the DBA
# configured, wherever it was configured: the configuration file, ALTER
# SYSTEM, ALTER DATABASE, ALTER ROLE, ALTER ROLE ... IN DATABASE.  The
# library is not preloaded, so in a new session the setting is a
# placeholder until the first write to a protected table loads it; a
# client's startup option (PGOPTIONS) would otherwise replace the
# configured value in that placeholder and leave the built-in "lax".

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('main');
$node->init;
$node->start;

$node->safe_psql(
	'postgres', q{
CREATE EXTENSION occ;
CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL);
INSERT INTO accounts VALUES (1, 100);
SELECT occ.enable('accounts');
CREATE ROLE app LOGIN;
CREATE ROLE trusted_app LOGIN;
GRANT SELECT, UPDATE ON accounts TO app, trusted_app;
});
my $privileged = $node->safe_psql('postgres', 'SHOW server_version_num') >= 150000;
$node->safe_psql('postgres', 'GRANT SET ON PARAMETER occ.default_mode TO trusted_app')
  if $privileged;

# What a fresh session of $role, started with the given PGOPTIONS, does
# with an UPDATE that states no version: the SQLSTATE it gets (or "ok"),
# and the mode it then reports.  The UPDATE is the first use of occ in the
# session, so it is what loads the library.
sub unstated_update
{
	my ($role, $options, $before) = @_;
	local $ENV{PGOPTIONS} = $options;
	my ($stdout, $stderr);
	$node->psql(
		'postgres', qq{
$before
\\set ON_ERROR_STOP 0
UPDATE accounts SET balance = balance + 1 WHERE id = 1;
\\echo sqlstate :LAST_ERROR_SQLSTATE
SHOW occ.default_mode;
},
		stdout => \$stdout,
		stderr => \$stderr,
		extra_params => [ '-U', $role ]);
	my ($sqlstate) = $stdout =~ /sqlstate (\S+)/;
	my ($mode) = $stdout =~ /(strict|lax|none)\s*$/;
	return ($sqlstate eq '00000' ? 'ok' : $sqlstate) . " $mode";
}

my $weaken = '-c occ.default_mode=none';

# Every place a DBA can configure the mode, one at a time.
my @sources = (
	[
		'configuration file',
		sub { $node->append_conf('postgresql.conf', "occ.default_mode = strict\n"); $node->reload; },
		sub {
			# (adjust_conf is not in the framework of PostgreSQL 13 and 14)
			my $conf = $node->data_dir . '/postgresql.conf';
			my $text = slurp_file($conf);
			$text =~ s/^occ\.default_mode = strict\n//m;
			open(my $fh, '>', $conf) or die "could not write $conf: $!";
			print $fh $text;
			close($fh);
			$node->reload;
		}
	],
	[
		'ALTER SYSTEM',
		sub {
			$node->safe_psql('postgres',
				"ALTER SYSTEM SET occ.default_mode = strict; SELECT pg_reload_conf()");
		},
		sub {
			$node->safe_psql('postgres',
				"ALTER SYSTEM RESET occ.default_mode; SELECT pg_reload_conf()");
		}
	],
	[
		'ALTER DATABASE',
		sub { $node->safe_psql('postgres', 'ALTER DATABASE postgres SET occ.default_mode = strict') },
		sub { $node->safe_psql('postgres', 'ALTER DATABASE postgres RESET occ.default_mode') }
	],
	[
		'ALTER ROLE',
		sub { $node->safe_psql('postgres', 'ALTER ROLE app SET occ.default_mode = strict') },
		sub { $node->safe_psql('postgres', 'ALTER ROLE app RESET occ.default_mode') }
	],
	[
		'ALTER ROLE IN DATABASE',
		sub {
			$node->safe_psql('postgres',
				'ALTER ROLE app IN DATABASE postgres SET occ.default_mode = strict');
		},
		sub {
			$node->safe_psql('postgres',
				'ALTER ROLE app IN DATABASE postgres RESET occ.default_mode');
		}
	],);

foreach my $source (@sources)
{
	my ($name, $configure, $unconfigure) = @$source;
	$configure->();
	# the reload reaches new sessions once the postmaster has read the file
	$node->poll_query_until('postgres',
		"SELECT current_setting('occ.default_mode', true) = 'strict'")
	  if $name eq 'configuration file' || $name eq 'ALTER SYSTEM';

	is(unstated_update('app', '', ''), '23V01 strict', "$name: strict applies");
	is(unstated_update('app', $weaken, ''),
		'23V01 strict', "$name: a startup option of a role without privilege does not weaken it");
	is(unstated_update('app', '', 'SET occ.default_mode = none;'),
		'23V01 strict', "$name: SET before the library is loaded does not weaken it");
	is(unstated_update('postgres', $weaken, ''),
		'ok none', "$name: a superuser's startup option still applies");
	is(unstated_update('trusted_app', $weaken, ''),
		'ok none', "$name: a role granted SET ON PARAMETER may still set it")
	  if $privileged && $name ne 'ALTER ROLE' && $name ne 'ALTER ROLE IN DATABASE';

	$unconfigure->();
	$node->poll_query_until('postgres',
		"SELECT coalesce(current_setting('occ.default_mode', true), '') <> 'strict'")
	  if $name eq 'configuration file' || $name eq 'ALTER SYSTEM';
}

# Nothing configured: the built-in default, and the client's value is still
# refused.
is(unstated_update('app', $weaken, ''), 'ok lax', 'nothing configured: lax');

# The refused value is reported to the client, as PostgreSQL reports it.
{
	local $ENV{PGOPTIONS} = $weaken;
	my ($stdout, $stderr);
	$node->psql('postgres', 'UPDATE accounts SET balance = 0 WHERE id = 1',
		stderr => \$stderr, extra_params => [ '-U', 'app' ]);
	like($stderr, qr/permission denied to set parameter "occ.default_mode"/,
		'the refused startup option is reported');
}

$node->stop;
done_testing();
