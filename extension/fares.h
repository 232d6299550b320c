/*
 * fares.h
 *	  Cross-file API of fares.c: the SQLSTATEs of class FG that the fare functions raise (documented in
 *	  docs/fares.md; FG007 is raised by the install script's timeframes trigger).  The init hook
 *	  fares_define_gucs() is declared in faregate.h, which _PG_init's file includes.
 */
#ifndef FARES_H
#define FARES_H

#include "postgres.h"

#define ERRCODE_FG_NO_FARE_RULE			MAKE_SQLSTATE('F','G','0','0','1')
#define ERRCODE_FG_UNKNOWN_ZONE			MAKE_SQLSTATE('F','G','0','0','2')
#define ERRCODE_FG_UNKNOWN_CATEGORY		MAKE_SQLSTATE('F','G','0','0','3')
#define ERRCODE_FG_CURRENCY_MIX			MAKE_SQLSTATE('F','G','0','0','4')
#define ERRCODE_FG_TAPS_OUT_OF_ORDER	MAKE_SQLSTATE('F','G','0','0','5')
#define ERRCODE_FG_NULL_LEG				MAKE_SQLSTATE('F','G','0','0','6')
#define ERRCODE_FG_EMPTY_WINDOW			MAKE_SQLSTATE('F','G','0','0','7')
#define ERRCODE_FG_AMBIGUOUS_RULES		MAKE_SQLSTATE('F','G','0','0','8')
#define ERRCODE_FG_EMPTY_JOURNEY		MAKE_SQLSTATE('F','G','0','0','9')

#endif							/* FARES_H */
