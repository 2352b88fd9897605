/*-------------------------------------------------------------------------
 *
 * errcodes.h
 *	  The SQLSTATEs of occ.
 *
 * Class 40 (transaction rollback) makes generic retry logic in drivers and
 * frameworks treat a stale write as transient; 23 (integrity constraint
 * violation) says the statement itself is wrong.  The "V" subclass is
 * outside the range PostgreSQL uses for its own codes.
 *
 * The same two refusals in the "http" error style (occ.error_style):
 * PostgREST answers SQLSTATE PTxyz with HTTP status xyz, here 412
 * Precondition Failed and 428 Precondition Required.
 *
 *-------------------------------------------------------------------------
 */
#ifndef OCC_ERRCODES_H
#define OCC_ERRCODES_H

#define ERRCODE_OCC_STALE_VERSION		MAKE_SQLSTATE('4','0','V','0','1')
#define ERRCODE_OCC_VERSION_REQUIRED	MAKE_SQLSTATE('2','3','V','0','1')

#define ERRCODE_OCC_HTTP_PRECONDITION_FAILED	MAKE_SQLSTATE('P','T','4','1','2')
#define ERRCODE_OCC_HTTP_PRECONDITION_REQUIRED	MAKE_SQLSTATE('P','T','4','2','8')

#endif							/* OCC_ERRCODES_H */
