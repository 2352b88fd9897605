/*-------------------------------------------------------------------------
 *
 * http.h
 *	  What occ offers HTTP layers: the ETag response header.
 *
 *-------------------------------------------------------------------------
 */
#ifndef OCC_HTTP_H
#define OCC_HTTP_H

#include "kind.h"

extern void occ_note_response_etag(MemoryContext statement_cxt,
								   const OccKindOps *kind, OccVersion version,
								   Oid typid);

#endif							/* OCC_HTTP_H */
