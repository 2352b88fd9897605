/*-------------------------------------------------------------------------
 *
 * settings.h
 *	  The configuration parameters of occ, and the names of modes.
 *
 *-------------------------------------------------------------------------
 */
#ifndef OCC_SETTINGS_H
#define OCC_SETTINGS_H

/*
 * How strictly writes to a table are checked.  Also a table's audit level:
 * the mode whose refusals are reported rather than raised.  Stricter modes
 * come first, so that "a is stricter than b" is a < b.
 */
typedef enum OccMode
{
	OCC_MODE_STRICT,			/* every write must state a version */
	OCC_MODE_LAX,				/* stated versions are checked */
	OCC_MODE_NONE,				/* nothing is checked, versions advance */
	OCC_MODE_DEFAULT			/* per table only: follow occ.default_mode */
} OccMode;

/* How occ reports its errors: occ.error_style. */
typedef enum OccErrorStyle
{
	OCC_ERROR_STYLE_SQLSTATE,	/* 40V01, 23V01 */
	OCC_ERROR_STYLE_HTTP		/* PT412, PT428 */
} OccErrorStyle;

extern int	occ_default_mode;
extern int	occ_default_audit;
extern bool occ_audit_client_messages;
extern int	occ_error_style;
extern char *occ_if_match;
extern uint64 occ_if_match_generation;

extern bool occ_default_mode_to_restore;

extern void occ_define_settings(void);
extern void occ_restore_configured_default_mode(void);
extern const char *occ_mode_name(OccMode mode);
extern bool occ_mode_from_name(const char *name, OccMode *mode);

/*
 * The mode of tables that have none of their own.  The configured value is
 * read again here if that could not be done when the library was loaded
 * outside a transaction (session_preload_libraries).  Inline: the trigger
 * asks for every row.
 */
static inline OccMode
occ_effective_default_mode(void)
{
	if (unlikely(occ_default_mode_to_restore))
		occ_restore_configured_default_mode();
	return (OccMode) occ_default_mode;
}

/*
 * The audit level of tables that have none of their own (an OccMode; none
 * audits nothing).  Inline, like occ_effective_default_mode.
 */
static inline OccMode
occ_effective_default_audit(void)
{
	if (unlikely(occ_default_mode_to_restore))
		occ_restore_configured_default_mode();
	return (OccMode) occ_default_audit;
}

/* The mode a table's own setting means: OCC_MODE_DEFAULT follows the GUC. */
static inline OccMode
occ_table_mode(OccMode mode)
{
	return mode == OCC_MODE_DEFAULT ? occ_effective_default_mode() : mode;
}

/* The audit level a table's own setting means, likewise. */
static inline OccMode
occ_table_audit(OccMode audit)
{
	return audit == OCC_MODE_DEFAULT ? occ_effective_default_audit() : audit;
}

#endif							/* OCC_SETTINGS_H */
