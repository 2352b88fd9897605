/*-------------------------------------------------------------------------
 *
 * trigger.h
 *	  The row trigger that checks and advances versions.
 *
 *-------------------------------------------------------------------------
 */
#ifndef OCC_TRIGGER_H
#define OCC_TRIGGER_H

extern int	occ_trigger_depth(void);

#endif							/* OCC_TRIGGER_H */
