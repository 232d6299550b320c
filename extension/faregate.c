/*
 * faregate.c
 *	  The faregate extension's entry point: PG_MODULE_MAGIC, _PG_init (which asks each module to
 *	  define its GUCs, then reserves the "faregate." prefix) and faregate.version().
 *
 * Each concern lives in its own file (fares.c, fare_cache.c, queues.c, sketch.c ...); this file only
 * wires them together, so it holds no state of its own.
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/guc.h"

#include "faregate.h"

PG_MODULE_MAGIC;

PG_FUNCTION_INFO_V1(version);

/*
 * _PG_init: called once per backend when faregate.so is loaded.  Module GUC definitions go before
 * the prefix is reserved, so that a misspelt faregate.* setting is reported instead of ignored.
 */
void
_PG_init(void)
{
	fares_define_gucs();
	queues_define_gucs();
#if PG_VERSION_NUM >= 150000
	MarkGUCPrefixReserved("faregate");
#else
	EmitWarningsOnPlaceholders("faregate");
#endif
}

/*
 * version: faregate.version() returns the version of the loaded shared library, which a DBA compares
 * with pg_extension.extversion after an upgrade.
 */
Datum
version(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(FAREGATE_VERSION));
}
