/* occ--1.2--1.3.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION occ UPDATE TO '1.3'" to load this file. \quit

-- (wrappers: helper A's section)

-- (DDL guard: helper B's section)
