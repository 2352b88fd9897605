/*-------------------------------------------------------------------------
 *
 * ddl.c
 *	  Keeping tables protected across DDL: the event trigger occ.ddl_guard,
 *	  and the detection of other triggers that write the version column.
 *
 * A table's settings name its version column (see enable.c), so DDL on
 * that column must either carry the protection along or be refused; it
 * must never leave a table that occ.tables lists as protected unchecked.
 * At the end of every ALTER TABLE, occ.ddl_guard looks at the occ triggers
 * of the altered table and of its partitions and inheritance children:
 *
 *	- RENAME COLUMN of the version column: the trigger is re-created with
 *	  the new name, in the same transaction;
 *	- DROP COLUMN, a type that cannot hold versions, identity, generation
 *	  or DROP NOT NULL: the ALTER TABLE is refused, which rolls it back.
 *
 * A table of kind hash has no version column: its trigger names the
 * columns that do not count, and follows them when they are renamed or
 * dropped (see follow_excluded_columns).  Every other change to its
 * columns is allowed, and changes its rows' tags.
 *
 * Dropping the version column is refused as soon as it happens, at
 * sql_drop (occ_drop_guard), not only when it is missing at the end: a
 * column added back under the same name in the same command would restart
 * every version.
 *
 * ALTER TYPE ... CASCADE changes the columns of the tables of a composite
 * type (CREATE TABLE ... OF type) in the same ways, and is guarded the same
 * way for each of them.
 *
 * Renaming or moving the table itself needs nothing: the trigger does not
 * name its table.  DISABLE TRIGGER, DROP TRIGGER, DETACH PARTITION and
 * DROP EXTENSION ... CASCADE remove the protection visibly: the table is no
 * longer listed in occ.tables.
 *
 * At the end of CREATE TRIGGER, it refuses a second occ trigger on a table
 * and a trigger certain to advance the version column behind occ's back (a
 * C trigger given the column, as contrib's moddatetime is); occ.enable
 * refuses to enable a table that already has one.  Two mechanisms must
 * never advance one column.  A trigger whose source only appears to set
 * the column (a hand-written "bump" trigger) is a guess: a WARNING names
 * it, and nothing is refused.
 * A table has one occ trigger whatever its name: after ALTER TABLE too
 * (ATTACH PARTITION clones the partitioned table's trigger), every table
 * looked at must have one at most.  ALTER TRIGGER ... RENAME is not
 * watched: a rename adds no trigger, and PostgreSQL renames a partitioned
 * table's trigger together with its clones.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/skey.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_language.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_trigger.h"
#include "commands/event_trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "nodes/parsenodes.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "citus.h"
#include "ddl.h"
#include "protection.h"
#include "stream.h"

PG_FUNCTION_INFO_V1(occ_ddl_guard);

/*
 * Does the source text at "p" hold the identifier "name", either quoted
 * exactly or unquoted (folded to lower case, as the parser would)?
 * Returns the position after it, or NULL.
 */
static const char *
match_identifier(const char *p, const char *name)
{
	if (*p == '"')
	{
		const char *n = name;

		p++;
		while (*n != '\0')
		{
			/* a doubled quote stands for one quote in the name */
			if (*n == '"' && p[0] == '"' && p[1] == '"')
				p += 2;
			else if (*n != '"' && *p == *n)
				p++;
			else
				return NULL;
			n++;
		}
		return *p == '"' ? p + 1 : NULL;
	}

	for (; *name != '\0'; name++, p++)
		if (*p == '\0' || pg_tolower((unsigned char) *p) != *name)
			return NULL;
	if (isalnum((unsigned char) *p) || *p == '_' || *p == '$')
		return NULL;
	return p;
}

/*
 * Does the word ending just before "end" in "src" start a statement, so
 * that "NEW.col = ..." after it is an assignment rather than a comparison?
 */
static bool
follows_statement_start(const char *src, const char *end)
{
	static const char *const starters[] = {"begin", "then", "else", "loop"};
	const char *p = end;
	const char *word_end;
	int			i;

	while (p > src && isspace((unsigned char) p[-1]))
		p--;
	if (p == src || p[-1] == ';')
		return true;
	word_end = p;
	while (p > src && isalpha((unsigned char) p[-1]))
		p--;
	for (i = 0; i < (int) lengthof(starters); i++)
		if ((size_t) (word_end - p) == strlen(starters[i]) &&
			pg_strncasecmp(p, starters[i], word_end - p) == 0)
			return true;
	return false;
}

/*
 * Does the word ending just before "end" in "src" equal "word"?
 */
static bool
follows_word(const char *src, const char *end, const char *word)
{
	const char *p = end;
	size_t		len = strlen(word);

	while (p > src && isspace((unsigned char) p[-1]))
		p--;
	if ((size_t) (p - src) < len || pg_strncasecmp(p - len, word, len) != 0)
		return false;
	p -= len;
	return p == src || !(isalnum((unsigned char) p[-1]) || p[-1] == '_');
}

/*
 * Is "c" part of an unquoted identifier?
 */
static bool
is_identifier_char(char c)
{
	return isalnum((unsigned char) c) || c == '_' || c == '$' ||
		IS_HIGHBIT_SET(c);
}

/*
 * The position after a comment, string literal, quoted identifier or
 * dollar-quoted string starting at "p", or NULL if none starts there.
 * What they hold is not code: an assignment written in a comment or a
 * message assigns nothing.
 */
static const char *
skip_non_code(const char *src, const char *p)
{
	if (p[0] == '-' && p[1] == '-')
	{
		while (*p != '\0' && *p != '\n')
			p++;
		return p;
	}
	if (p[0] == '/' && p[1] == '*')
	{
		int			depth = 0;

		/* block comments nest, as in the SQL scanner */
		while (*p != '\0')
		{
			if (p[0] == '/' && p[1] == '*')
				depth++, p += 2;
			else if (p[0] == '*' && p[1] == '/')
			{
				p += 2;
				if (--depth == 0)
					break;
			}
			else
				p++;
		}
		return p;
	}
	if (*p == '\'')
	{
		/* E'...' takes backslash escapes */
		bool		escapes = p > src && (p[-1] == 'E' || p[-1] == 'e') &&
			(p - 1 == src || !is_identifier_char(p[-2]));

		for (p++; *p != '\0'; p++)
		{
			if (escapes && *p == '\\' && p[1] != '\0')
				p++;
			else if (*p == '\'' && p[1] == '\'')
				p++;
			else if (*p == '\'')
				return p + 1;
		}
		return p;
	}
	if (*p == '"')
	{
		for (p++; *p != '\0'; p++)
		{
			if (*p == '"' && p[1] == '"')
				p++;
			else if (*p == '"')
				return p + 1;
		}
		return p;
	}
	if (*p == '$' && (p == src || !is_identifier_char(p[-1])))
	{
		/* $tag$ ... $tag$, where a tag does not start with a digit */
		const char *tag_end = p + 1;
		const char *q;
		size_t		tag_len;

		if (isdigit((unsigned char) *tag_end))
			return NULL;
		while (*tag_end != '\0' && *tag_end != '$' &&
			   is_identifier_char(*tag_end))
			tag_end++;
		if (*tag_end != '$')
			return NULL;
		tag_len = tag_end - p + 1;
		for (q = tag_end + 1; *q != '\0'; q++)
			if (strncmp(q, p, tag_len) == 0)
				return q + tag_len;
		return q;
	}
	return NULL;
}

/*
 * Does the source of a trigger function appear to assign NEW.<column>, or
 * NEW as a whole?  A textual guess, good for the triggers people write by
 * hand in PL/pgSQL and the like:
 *
 *	"NEW.version := ...", or "NEW.version = ..." as a statement;
 *	"NEW := ...", or "NEW = ..." as a statement (NEW := jsonb_populate_record
 *	(NEW, ...) can set any column);
 *	"SELECT ... INTO NEW" or "INTO NEW.version".
 *
 * Comments, string literals and quoted identifiers are skipped.  It can be
 * wrong both ways (dynamic code, other languages, a column set through a
 * helper function), so callers only warn.
 */
static bool
source_assigns_column(const char *src, const char *column)
{
	const char *p = src;

	while (*p != '\0')
	{
		const char *q = skip_non_code(src, p);
		bool		after_into;

		if (q != NULL)
		{
			p = q;
			continue;
		}
		if (!is_identifier_char(*p))
		{
			p++;
			continue;
		}

		/* a word: NEW, or something to skip as a whole */
		q = p;
		while (is_identifier_char(*q))
			q++;
		if (q - p != 3 || pg_strncasecmp(p, "new", 3) != 0)
		{
			p = q;
			continue;
		}

		after_into = follows_word(src, p, "into");
		while (isspace((unsigned char) *q))
			q++;
		if (*q == '.')
		{
			/* NEW.<column> */
			q++;
			while (isspace((unsigned char) *q))
				q++;
			q = match_identifier(q, column);
			if (q == NULL)
			{
				p += 3;
				continue;
			}
			while (isspace((unsigned char) *q))
				q++;
		}
		if (after_into ||
			(q[0] == ':' && q[1] == '=') ||
			(q[0] == '=' && q[1] != '=' && follows_statement_start(src, p)))
			return true;
		p += 3;
	}
	return false;
}

/*
 * Would this trigger, other than occ's own, advance "column" on UPDATE?
 * It must fire BEFORE UPDATE for each row.  A trigger written in C with the
 * column among its arguments (as contrib's moddatetime is) certainly does;
 * one whose source appears to assign the column, or NEW as a whole,
 * perhaps does (see source_assigns_column).
 */
OccWriter
occ_trigger_writes_column(Trigger *trigger, const char *column)
{
	HeapTuple	proctup;
	Form_pg_proc proc;
	OccWriter	writes = OCC_WRITER_NO;

	if (!TRIGGER_FOR_ROW(trigger->tgtype) ||
		!TRIGGER_FOR_BEFORE(trigger->tgtype) ||
		!TRIGGER_FOR_UPDATE(trigger->tgtype))
		return OCC_WRITER_NO;

	proctup = SearchSysCache1(PROCOID, ObjectIdGetDatum(trigger->tgfoid));
	if (!HeapTupleIsValid(proctup))
		elog(ERROR, "cache lookup failed for function %u", trigger->tgfoid);
	proc = (Form_pg_proc) GETSTRUCT(proctup);

	if (proc->prolang == ClanguageId)
	{
		int			i;

		for (i = 0; i < trigger->tgnargs; i++)
			if (strcmp(trigger->tgargs[i], column) == 0)
				writes = OCC_WRITER_CERTAIN;
	}
	else if (proc->prolang != INTERNALlanguageId)
	{
		Datum		src;
		bool		isnull;

		src = SysCacheGetAttr(PROCOID, proctup, Anum_pg_proc_prosrc, &isnull);
		if (!isnull && source_assigns_column(TextDatumGetCString(src), column))
			writes = OCC_WRITER_POSSIBLE;
	}

	ReleaseSysCache(proctup);
	return writes;
}

/*
 * Say that a trigger of the relation may also set its version column.  It
 * is a guess from the function's source, so it must not refuse anything.
 */
void
occ_warn_possible_writer(Relation rel, Trigger *trigger, const char *column)
{
	ereport(WARNING,
			(errcode(ERRCODE_WARNING),
			 errmsg("trigger \"%s\" of relation \"%s\" may set version column \"%s\"",
					trigger->tgname, RelationGetRelationName(rel), column),
			 errdetail("Function %s appears to assign the column, or NEW as a whole. occ advances the version itself; two mechanisms must not advance one column.",
					   format_procedure(trigger->tgfoid)),
			 errhint("If the trigger sets column \"%s\", drop it or change it to leave the column alone.",
					 column)));
}

/*
 * Refuse the drop of the version column of an enabled table.
 */
static void
refuse_drop(const char *column, const char *relname)
{
	ereport(ERROR,
			(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
			 errmsg("cannot drop version column \"%s\" of relation \"%s\"",
					column, relname),
			 errdetail("occ checks writes to \"%s\" with this column.", relname),
			 errhint("Call occ.disable() first.")));
}

/*
 * Refuse DDL that left the version column of an occ trigger unusable.
 */
static void
check_version_column(Relation rel, const OccTableSettings *settings)
{
	AttrNumber	attnum = get_attnum(RelationGetRelid(rel), settings->version_column);
	Form_pg_attribute attr;

	if (attnum == InvalidAttrNumber)
		refuse_drop(settings->version_column, RelationGetRelationName(rel));

	occ_check_version_column(rel, attnum, settings->kind, OCC_COLUMN_ALTERED);
	attr = TupleDescAttr(RelationGetDescr(rel), attnum - 1);
	if (!attr->attnotnull)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("version column \"%s\" of relation \"%s\" must stay NOT NULL",
						settings->version_column, RelationGetRelationName(rel)),
				 errhint("Call occ.disable() first.")));
}

/*
 * Refuse DDL that left a stream table unusable: its stream column dropped,
 * a default on its version column (occ gives the versions), or no unique
 * index on (stream, version) left to read a stream's version from.
 */
static void
check_stream_table(Relation rel, const OccTableSettings *settings)
{
	AttrNumber	stream_attnum = get_attnum(RelationGetRelid(rel), settings->stream_column);
	AttrNumber	version_attnum = get_attnum(RelationGetRelid(rel), settings->version_column);

	if (stream_attnum == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
				 errmsg("cannot drop stream column \"%s\" of relation \"%s\"",
						settings->stream_column, RelationGetRelationName(rel)),
				 errhint("Call occ.disable() first.")));
	if (TupleDescAttr(RelationGetDescr(rel), version_attnum - 1)->atthasdef)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("version column \"%s\" of stream table \"%s\" cannot have a default",
						settings->version_column, RelationGetRelationName(rel)),
				 errdetail("occ gives each event the next version of its stream.")));
	if (!OidIsValid(occ_stream_index(rel, stream_attnum, version_attnum)))
		ereport(ERROR,
				(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
				 errmsg("stream table \"%s\" needs a unique index on its stream and version columns",
						RelationGetRelationName(rel)),
				 errdetail("occ reads a stream's version from that index."),
				 errhint("Call occ.disable() first.")));
}

/*
 * Refuse a relation with more than one occ trigger, whatever their names:
 * each would check and advance the version, with its own settings.
 *
 * A second one arrives either by CREATE TRIGGER, or as the clone of a
 * partitioned table's trigger on a partition that has one of its own: when
 * the partition is attached, or when the partitioned table is given its
 * trigger.  new_trigger names the trigger that a CREATE TRIGGER on this
 * very relation just made, or is NULL.
 */
static void
refuse_second_occ_trigger(Relation rel, Oid trigger_function,
						  const char *new_trigger)
{
	TriggerDesc *trigdesc = rel->trigdesc;
	const char *own = NULL;
	bool		has_clone = false;
	int			count = 0;
	int			i;

	for (i = 0; trigdesc != NULL && i < trigdesc->numtriggers; i++)
	{
		Trigger    *trigger = &trigdesc->triggers[i];

		if (trigger->tgfoid != trigger_function)
			continue;
		count++;
		if (trigger->tgisclone)
			has_clone = true;
		else if (own == NULL)
			own = trigger->tgname;
	}
	if (count < 2)
		return;

	if (has_clone && own != NULL &&
		(new_trigger == NULL || strcmp(own, new_trigger) != 0))
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("relation \"%s\" already has an occ trigger",
						RelationGetRelationName(rel)),
				 errdetail("Trigger \"%s\" calls occ.check_version(), and so does the trigger that relation \"%s\" inherits from its partitioned table.",
						   own, RelationGetRelationName(rel)),
				 errhint("Call occ.disable() for relation \"%s\" first: the partitioned table's occ trigger protects every partition.",
						 RelationGetRelationName(rel))));
	if (has_clone)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("relation \"%s\" already has an occ trigger",
						RelationGetRelationName(rel)),
				 errdetail("Relation \"%s\" is protected through its partitioned table.",
						   RelationGetRelationName(rel)),
				 errhint("Use occ.set_mode() on the partitioned table to change its settings.")));
	ereport(ERROR,
			(errcode(ERRCODE_DUPLICATE_OBJECT),
			 errmsg("relation \"%s\" already has an occ trigger",
					RelationGetRelationName(rel)),
			 errhint("Use occ.set_mode() to change its settings.")));
}

/*
 * Re-create a table's trigger to follow a rename, on this node only: on
 * Citus each node's DDL guard follows the rename for its own tables and
 * shards when the rename reaches it (see occ_citus_local_ddl).
 */
static void
follow_rename(const char *schema, OccTableInfo *info,
			  const OccTableSettings *settings)
{
	bool		previous = occ_citus_local_ddl(true);

	PG_TRY();
	{
		occ_replace_trigger(schema, info, settings);
	}
	PG_FINALLY();
	{
		occ_citus_local_ddl(previous);
	}
	PG_END_TRY();
}

/*
 * Keep a content kind's excluded columns those the user named: follow a
 * renamed one, and forget a dropped one (a column added later under its
 * name counts; see guard_dropped_columns for one added back by the same
 * command).  Any other change to the table's columns changes what is
 * hashed, and so every tag, which is allowed, unless no column would be
 * left to hash.  The trigger is re-created only if its list changed.
 */
static void
follow_excluded_columns(const char *schema, OccTableInfo *info,
						const char *old_name, const char *new_name)
{
	OccTableSettings settings = info->settings;
	bool		changed = false;
	Relation	rel;
	int			i;

	settings.exclude = palloc(sizeof(char *) * Max(info->settings.nexclude, 1));
	settings.nexclude = 0;
	for (i = 0; i < info->settings.nexclude; i++)
	{
		char	   *name = info->settings.exclude[i];

		if (old_name != NULL && strcmp(name, old_name) == 0)
		{
			name = pstrdup(new_name);
			changed = true;
		}
		if (get_attnum(info->relid, name) == InvalidAttrNumber)
		{
			changed = true;
			continue;
		}
		settings.exclude[settings.nexclude++] = name;
	}
	rel = relation_open(info->relid, AccessShareLock);
	if (occ_counted_columns(rel, &settings) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
				 errmsg("relation \"%s\" would have no column left to hash",
						RelationGetRelationName(rel)),
				 errdetail("The versions of relation \"%s\" are hashes of its columns that are not excluded.",
						   RelationGetRelationName(rel)),
				 errhint("Call occ.disable() first.")));
	relation_close(rel, NoLock);
	if (changed)
		follow_rename(schema, info, &settings);
}

/*
 * After an ALTER TABLE of relid: follow a renamed version column, refuse
 * anything else that broke one.  old_name and new_name describe a RENAME
 * COLUMN, or are NULL.  Every partition and inheritance child is looked at,
 * since ALTER TABLE recurses to them, and a child may be enabled on its
 * own.
 *
 * The children are locked before they are opened: ALTER TABLE ONLY and
 * SET SCHEMA lock the parent alone, and a child that a concurrent DROP
 * TABLE is removing must not be read half-dropped.  AccessShareLock is the
 * least that keeps a child in place while we read it; find_all_inheritors
 * skips children that were dropped while it waited for the lock.  Where
 * the command itself recursed, we already hold a stronger lock.
 */
static void
guard_altered_table(const char *schema, Oid relid,
					const char *old_name, const char *new_name)
{
	List	   *relids = find_all_inheritors(relid, AccessShareLock, NULL);
	ListCell   *lc;

	foreach(lc, relids)
	{
		Relation	rel = relation_open(lfirst_oid(lc), AccessShareLock);
		OccTableInfo info;

		occ_table_info(rel, schema, &info);
		refuse_second_occ_trigger(rel, info.trigger_function, NULL);

		/* A partition's clone is re-created along with its parent's. */
		if (info.enabled && !info.trigger_is_clone &&
			info.settings.kind->is_content)
		{
			/* ALTER TABLE refuses to run on a relation we hold open. */
			relation_close(rel, NoLock);
			follow_excluded_columns(schema, &info, old_name, new_name);
			continue;
		}
		if (info.enabled && !info.trigger_is_clone)
		{
			if (old_name != NULL &&
				(strcmp(info.settings.version_column, old_name) == 0 ||
				 (info.settings.stream_column != NULL &&
				  strcmp(info.settings.stream_column, old_name) == 0)))
			{
				OccTableSettings settings = info.settings;

				/* ALTER TABLE refuses to run on a relation we hold open. */
				relation_close(rel, NoLock);
				if (strcmp(info.settings.version_column, old_name) == 0)
					settings.version_column = new_name;
				else
					settings.stream_column = new_name;
				follow_rename(schema, &info, &settings);
				continue;
			}
			check_version_column(rel, &info.settings);
			if (info.settings.stream_column != NULL)
				check_stream_table(rel, &info.settings);
		}
		relation_close(rel, NoLock);
	}
}

/*
 * The tables of a composite type (CREATE TABLE ... OF type), each locked
 * as guard_altered_table locks children.  ALTER TYPE ... CASCADE changes
 * their columns under the tag ALTER TYPE, and pg_event_trigger_ddl_commands
 * reports the type, not the tables.  A table of the type cannot itself be
 * the type of another table, so there is one level only; its partitions
 * and inheritance children are looked at by guard_altered_table.
 */
static List *
typed_tables(Oid typid)
{
	List	   *candidates = NIL;
	List	   *result = NIL;
	Relation	class_rel;
	TableScanDesc scan;
	ScanKeyData key;
	HeapTuple	tuple;
	ListCell   *lc;

	/* no index on reloftype; ALTER TYPE's own recursion scans the same way */
	class_rel = table_open(RelationRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_class_reloftype, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(typid));
	scan = table_beginscan_catalog(class_rel, 1, &key);
	while ((tuple = heap_getnext(scan, ForwardScanDirection)) != NULL)
		candidates = lappend_oid(candidates, ((Form_pg_class) GETSTRUCT(tuple))->oid);
	table_endscan(scan);
	table_close(class_rel, AccessShareLock);

	foreach(lc, candidates)
	{
		Oid			relid = lfirst_oid(lc);

		/* skip a table dropped while we waited for its lock */
		LockRelationOid(relid, AccessShareLock);
		if (SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid)))
			result = lappend_oid(result, relid);
		else
			UnlockRelationOid(relid, AccessShareLock);
	}
	/* in a stable order, so that the same command reports the same table */
	list_sort(result, list_oid_cmp);
	return result;
}

/*
 * After an ALTER TYPE of a composite type: guard the tables of the type as
 * after an ALTER TABLE of each.
 */
static void
guard_altered_type(const char *schema, Oid type_relid,
				   const char *old_name, const char *new_name)
{
	ListCell   *lc;

	foreach(lc, typed_tables(get_rel_type_id(type_relid)))
		guard_altered_table(schema, lfirst_oid(lc), old_name, new_name);
}

/*
 * An occ trigger created by hand must be one occ.enable could have made,
 * for a column that can hold its versions, or excluding columns that
 * exist.  (occ_table_info has already
 * checked its definition and arguments, raising an error if they are not.)
 */
static void
check_new_occ_trigger(Relation rel, Trigger *trigger)
{
	OccTableSettings settings;
	AttrNumber	attnum;
	int			i;

	occ_trigger_settings(rel, trigger, &settings);
	for (i = 0; i < settings.nexclude; i++)
		if (get_attnum(RelationGetRelid(rel), settings.exclude[i]) <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("column \"%s\" of relation \"%s\" does not exist",
							settings.exclude[i], RelationGetRelationName(rel))));
	if (settings.kind->is_content)
	{
		if (occ_counted_columns(rel, &settings) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("trigger \"%s\" of relation \"%s\" excludes every column",
							trigger->tgname, RelationGetRelationName(rel)),
					 errdetail("A row's version is the hash of the columns that are not excluded; with none, no write could ever be found stale.")));
		return;
	}
	attnum = get_attnum(RelationGetRelid(rel), settings.version_column);
	if (attnum == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of relation \"%s\" does not exist",
						settings.version_column, RelationGetRelationName(rel))));
	occ_check_version_column(rel, attnum, settings.kind, OCC_COLUMN_ADOPTED);
}

/*
 * After a CREATE TRIGGER on relid: refuse a trigger that would make two
 * mechanisms advance the version column, be it a second occ trigger or a
 * trigger that sets the column itself.  On a partitioned table the trigger
 * was cloned to every partition, each of which may have had an occ
 * trigger already.
 */
static void
guard_new_trigger(const char *schema, Oid relid, const char *trigger_name)
{
	Oid			trigger_function = occ_check_version_oid(schema);
	List	   *relids;
	Relation	rel;
	Trigger    *new_trigger = NULL;
	OccTableInfo info;
	ListCell   *lc;
	int			i;

	/*
	 * CREATE TRIGGER has locked the partitions it cloned the trigger to; it
	 * does not recurse to inheritance children.
	 */
	if (get_rel_relkind(relid) == RELKIND_PARTITIONED_TABLE)
		relids = find_all_inheritors(relid, AccessShareLock, NULL);
	else
		relids = list_make1_oid(relid);
	foreach(lc, relids)
	{
		Relation	part = relation_open(lfirst_oid(lc), AccessShareLock);

		refuse_second_occ_trigger(part, trigger_function,
								  lfirst_oid(lc) == relid ? trigger_name : NULL);
		relation_close(part, NoLock);
	}

	rel = relation_open(relid, AccessShareLock);
	occ_table_info(rel, schema, &info);
	for (i = 0; info.enabled && i < rel->trigdesc->numtriggers; i++)
	{
		Trigger    *trigger = &rel->trigdesc->triggers[i];

		if (strcmp(trigger->tgname, trigger_name) == 0)
			new_trigger = trigger;
	}

	if (new_trigger == NULL)
		;						/* the table is not enabled: nothing to guard */
	else if (new_trigger->tgfoid == info.trigger_function)
		check_new_occ_trigger(rel, new_trigger);
	else if (info.settings.kind->is_content)
		;						/* no version column for a trigger to set */
	else
	{
		switch (occ_trigger_writes_column(new_trigger, info.settings.version_column))
		{
			case OCC_WRITER_CERTAIN:
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						 errmsg("trigger \"%s\" would set version column \"%s\" of relation \"%s\"",
								new_trigger->tgname, info.settings.version_column,
								RelationGetRelationName(rel)),
						 errdetail("occ advances the version itself; two mechanisms must not advance one column.")));
				break;
			case OCC_WRITER_POSSIBLE:
				occ_warn_possible_writer(rel, new_trigger,
										 info.settings.version_column);
				break;
			case OCC_WRITER_NO:
				break;
		}
	}

	relation_close(rel, NoLock);
}

/*
 * At sql_drop: refuse a command that dropped the version column of an
 * enabled table, or dropped an excluded column of a table of kind hash and
 * added a column of that name back.
 *
 * Looking at the end of the command is not enough: "DROP COLUMN version,
 * ADD COLUMN version bigint NOT NULL DEFAULT 1" leaves a column that passes
 * every check, but every row's version restarts at 1, so a client that
 * read version 1 long ago matches again.  So every dropped column is
 * compared with the version column that its table's occ trigger names.
 * The name is the one the column had when it was dropped (address_names
 * is recorded before the drop); the trigger still names it, unless the
 * same command dropped the trigger too, as occ.disable(drop_column =>
 * true) does, or dropped the table, in which case there is nothing left to
 * guard.
 *
 * A partition's clone is skipped: a partition's column is only dropped
 * along with its partitioned table's, whose trigger names the same column
 * and is reported instead.
 */
static void
guard_dropped_columns(const char *schema)
{
	MemoryContext caller_cxt = CurrentMemoryContext;
	List	   *relids = NIL;
	List	   *columns = NIL;
	ListCell   *lc_rel;
	ListCell   *lc_col;
	uint64		i;

	SPI_connect();
	if (SPI_execute("SELECT d.objid, d.address_names[3]"
					"  FROM pg_catalog.pg_event_trigger_dropped_objects() d"
					" WHERE d.object_type = 'table column'"
					"   AND pg_catalog.cardinality(d.address_names) = 3",
					true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the objects dropped by this command");

	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tuple = SPI_tuptable->vals[i];
		TupleDesc	tupdesc = SPI_tuptable->tupdesc;
		char	   *column = SPI_getvalue(tuple, tupdesc, 2);
		bool		isnull;
		Oid			relid;
		MemoryContext spi_cxt;

		relid = DatumGetObjectId(SPI_getbinval(tuple, tupdesc, 1, &isnull));
		if (isnull || column == NULL)
			continue;
		spi_cxt = MemoryContextSwitchTo(caller_cxt);
		relids = lappend_oid(relids, relid);
		columns = lappend(columns, pstrdup(column));
		MemoryContextSwitchTo(spi_cxt);
	}
	SPI_finish();

	forboth(lc_rel, relids, lc_col, columns)
	{
		const char *column = lfirst(lc_col);
		Relation	rel;
		OccTableInfo info;

		/* the command holds a stronger lock already; gone: nothing to guard */
		rel = try_relation_open(lfirst_oid(lc_rel), AccessShareLock);
		if (rel == NULL)
			continue;
		occ_table_info(rel, schema, &info);
		if (info.enabled && !info.trigger_is_clone &&
			info.settings.version_column != NULL &&
			strcmp(info.settings.version_column, column) == 0)
			refuse_drop(column, RelationGetRelationName(rel));
		if (info.enabled && !info.trigger_is_clone &&
			info.settings.stream_column != NULL &&
			strcmp(info.settings.stream_column, column) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
					 errmsg("cannot drop stream column \"%s\" of relation \"%s\"",
							column, RelationGetRelationName(rel)),
					 errhint("Call occ.disable() first.")));
		if (info.enabled && !info.trigger_is_clone &&
			occ_settings_exclude(&info.settings, column) &&
			get_attnum(RelationGetRelid(rel), column) != InvalidAttrNumber)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("cannot drop and add excluded column \"%s\" of relation \"%s\" in one command",
							column, RelationGetRelationName(rel)),
					 errdetail("A dropped excluded column leaves the list of excluded columns; a column added under its name counts."),
					 errhint("Drop the column and add it in separate commands, or call occ.disable() first.")));
		relation_close(rel, NoLock);
	}
}

/*
 * The tables and triggers that the DDL command being completed created or
 * altered, as pg_event_trigger_ddl_commands() reports them: by OID, so
 * that nothing is resolved by name again under our pinned search_path.
 * Returns a list of (relid, trigger name or NULL) pairs.  The query is
 * not read-only, so that it sees the catalog rows the command just wrote.
 */
typedef struct DdlTarget
{
	Oid			relid;
	char	   *trigger_name;	/* set for CREATE TRIGGER */
} DdlTarget;

static List *
ddl_targets(void)
{
	MemoryContext caller_cxt = CurrentMemoryContext;
	List	   *targets = NIL;
	uint64		i;

	SPI_connect();
	if (SPI_execute("SELECT coalesce(t.tgrelid, c.objid), t.tgname"
					"  FROM pg_catalog.pg_event_trigger_ddl_commands() c"
					"  LEFT JOIN pg_catalog.pg_trigger t"
					"    ON c.classid = 'pg_catalog.pg_trigger'::pg_catalog.regclass"
					"   AND t.oid = c.objid"
					" WHERE c.classid IN ('pg_catalog.pg_class'::pg_catalog.regclass,"
					"                     'pg_catalog.pg_trigger'::pg_catalog.regclass)",
					false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the DDL commands of this event");

	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tuple = SPI_tuptable->vals[i];
		TupleDesc	tupdesc = SPI_tuptable->tupdesc;
		MemoryContext spi_cxt;
		DdlTarget  *target;
		bool		isnull;
		char	   *name = SPI_getvalue(tuple, tupdesc, 2);

		spi_cxt = MemoryContextSwitchTo(caller_cxt);
		target = palloc(sizeof(DdlTarget));
		target->relid = DatumGetObjectId(SPI_getbinval(tuple, tupdesc, 1, &isnull));
		target->trigger_name = name ? pstrdup(name) : NULL;
		targets = lappend(targets, target);
		MemoryContextSwitchTo(spi_cxt);
	}
	SPI_finish();

	return targets;
}

/*
 * occ.ddl_guard() -- event trigger on ddl_command_end for ALTER TABLE,
 * ALTER TYPE and CREATE TRIGGER, and on sql_drop for ALTER TABLE and ALTER
 * TYPE.
 */
Datum
occ_ddl_guard(PG_FUNCTION_ARGS)
{
	EventTriggerData *trigdata;
	const char *old_name = NULL;
	const char *new_name = NULL;
	char	   *schema;
	ListCell   *lc;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_EVENT_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function \"%s\" was not called by event trigger manager",
						"occ.ddl_guard")));

	trigdata = (EventTriggerData *) fcinfo->context;
	schema = get_namespace_name(get_func_namespace(fcinfo->flinfo->fn_oid));

	if (strcmp(trigdata->event, "sql_drop") == 0)
	{
		guard_dropped_columns(schema);
		PG_RETURN_VOID();
	}

	if (IsA(trigdata->parsetree, RenameStmt))
	{
		RenameStmt *stmt = (RenameStmt *) trigdata->parsetree;

		/* renaming a table or type changes nothing for us */
		if (stmt->renameType != OBJECT_COLUMN &&
			stmt->renameType != OBJECT_ATTRIBUTE)
			PG_RETURN_VOID();
		old_name = stmt->subname;
		new_name = stmt->newname;
	}

	foreach(lc, ddl_targets())
	{
		DdlTarget  *target = lfirst(lc);

		/* A table dropped by the same command has nothing to guard. */
		if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(target->relid)))
			continue;
		if (target->trigger_name != NULL)
			guard_new_trigger(schema, target->relid, target->trigger_name);
		else if (get_rel_relkind(target->relid) == RELKIND_COMPOSITE_TYPE)
			guard_altered_type(schema, target->relid, old_name, new_name);
		else
			guard_altered_table(schema, target->relid, old_name, new_name);
	}

	PG_RETURN_VOID();
}
