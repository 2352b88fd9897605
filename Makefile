# occ/Makefile

MODULE_big = occ
OBJS = \
	src/append.o \
	src/audit.o \
	src/citus.o \
	src/content_hash.o \
	src/ddl.o \
	src/enable.o \
	src/http.o \
	src/if_match.o \
	src/kind.o \
	src/kind_hash.o \
	src/kind_integer.o \
	src/kind_stream.o \
	src/kind_timestamp.o \
	src/occ.o \
	src/protection.o \
	src/report.o \
	src/settings.o \
	src/stats.o \
	src/stream.o \
	src/trigger.o \
	src/where_clause.o \
	src/wrappers.o

EXTENSION = occ
# one full install script per release, and an upgrade script from each
# release to the next (none yet: 1.0 is the first)
DATA = sql/occ--1.0.sql
PGFILEDESC = "occ - optimistic concurrency control enforced by the database"

# PostgreSQL's own headers hold inline functions with unused parameters,
# and PostgreSQL does not build with -Wunused-parameter: without this a
# -Wextra build reports their warnings, not occ's.  (Appended after COPT.)
PG_CFLAGS = -Wno-unused-parameter

# The hash kind's content hash is XXH3 (Debian: libxxhash-dev).
SHLIB_LINK = -lxxhash

REGRESS = enable modes if_match delete timestamps partitions fk_cascade on_conflict \
	identifiers wrappers postgrest in_place privileges errors ddl upgrade \
	bad_input
# hardening (issue 8): trigger, settings and install
REGRESS += install report_privacy row_movement
# hardening (issue 8): wrappers
REGRESS += wrapper_search_path wrapper_plans wrapper_rename wrapper_memory wrapper_nested \
	wrapper_edges
# hardening (issue 8): DDL guard
REGRESS += guard_usage guard_drop guard_typed guard_duplicate guard_state guard_scanner
# ORMs unchanged (issue 10): versions in the WHERE clause, proposals
REGRESS += where_clause proposals
# versionless tables (issue 11): the hash kind
REGRESS += hash_kind hash_content
# event streams (issue 12): the stream kind
REGRESS += stream_kind stream_hint
# audit level and statistics (issue 13)
REGRESS += audit
# Before PostgreSQL 17 the statistics need occ in shared_preload_libraries:
# tools/test-target.sh runs REGRESS_PRELOADED on its cluster restarted so;
# from 17 on they are part of REGRESS (below).
REGRESS_PRELOADED = table_stats
REGRESS_OPTS = --load-extension=occ

ISOLATION = stale_update stale_delete stale_repeatable_read
# hardening (issue 8): DDL guard
ISOLATION += guard_concurrent_drop
# ORMs unchanged (issue 10): versions in the WHERE clause
ISOLATION += strict_where
# versionless tables (issue 11): the hash kind
ISOLATION += hash_two_writers
# event streams (issue 12): the stream kind
ISOLATION += stream_appends
ISOLATION_OPTS = --load-extension=occ

TAP_TESTS = 1

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# Tests of what PostgreSQL 15 brought: MERGE, GRANT SET ON PARAMETER; and
# of what 14 did: multiranges, pg_column_compression().
ifeq ($(shell test $(MAJORVERSION) -ge 15 && echo yes),yes)
REGRESS += merge in_place_merge privileges_parameter hash_merge hash_content_multirange \
	stream_merge
endif

# Conflict statistics without preloading: PostgreSQL 17's named DSM.
ifeq ($(shell test $(MAJORVERSION) -ge 17 && echo yes),yes)
REGRESS += $(REGRESS_PRELOADED)
endif
