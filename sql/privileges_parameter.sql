--
-- privileges_parameter: SET on occ.default_mode and occ.default_audit can
-- be granted to a role that is not a superuser (GRANT SET ON PARAMETER,
-- PostgreSQL 15 and later; before 15 only superusers may set them).
--
CREATE ROLE regress_occ_writer;
-- ==== SET on occ.default_mode can be granted ====
GRANT SET ON PARAMETER occ.default_mode TO regress_occ_writer;
SET ROLE regress_occ_writer;
SET occ.default_mode = 'strict';
SHOW occ.default_mode;
RESET occ.default_mode;
RESET ROLE;
REVOKE SET ON PARAMETER occ.default_mode FROM regress_occ_writer;
-- ==== and SET on occ.default_audit, alike ====
-- (with the library loaded: SET before it loads is refused when it loads)
LOAD 'occ';
SET ROLE regress_occ_writer;
SET occ.default_audit = 'strict'; \echo :LAST_ERROR_SQLSTATE
RESET ROLE;
GRANT SET ON PARAMETER occ.default_audit TO regress_occ_writer;
SET ROLE regress_occ_writer;
SET occ.default_audit = 'strict';
SHOW occ.default_audit;
RESET occ.default_audit;
RESET ROLE;
REVOKE SET ON PARAMETER occ.default_audit FROM regress_occ_writer;

DROP ROLE regress_occ_writer;
