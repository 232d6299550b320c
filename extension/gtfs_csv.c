/*
 * gtfs_csv.c
 *	  Owns the reading of GTFS files as CSV (RFC 4180, as the GTFS reference requires): the loader sends
 *	  each file's bytes untouched and faregate._gtfs_csv_records splits them into records, so that a bad
 *	  record (ragged, badly quoted, not UTF-8) is an error naming its row and field like every other GTFS
 *	  error, and the rest of the file and the other files are still read and checked (COPY would stop at
 *	  the first bad line and name only its staging table). docs/gtfs.md "Loading a feed".
 *
 * Records: a UTF-8 BOM at the start is skipped; records end at LF, CRLF or a lone CR outside quotes; a
 * field that starts with a double quote is quoted (it may hold commas, line breaks and doubled quotes)
 * and must be followed by a comma or the end of the record; a double quote inside an unquoted field is
 * kept as text (as MobilityData's validator reads it). An empty line is skipped but counts as a row, so
 * that row numbers are line numbers in a file without quoted line breaks; the header is row 1. An empty
 * field (quoted or not) is NULL, as GTFS has no empty string distinct from "absent".
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

PG_FUNCTION_INFO_V1(gtfs_csv_records);

/* one record being read: its fields so far, and whether any field of it was bad */
typedef struct GtfsCsvRecord
{
	int64		row_no;
	int			nfields;
	int			maxfields;
	Datum	   *values;
	bool	   *nulls;
	bool		bad;
} GtfsCsvRecord;

typedef struct GtfsCsvReader
{
	const char *buf;
	int64		len;
	int64		pos;
	int64		row_no;			/* of the record being read */
	int			header_fields;	/* fields of row 1, -1 before it is read */
	ReturnSetInfo *rsinfo;
} GtfsCsvReader;

/* gtfs_csv_emit: one output row (row_no, fields, field_no, error). */
static void
gtfs_csv_emit(GtfsCsvReader *rd, Datum fields, bool fields_null, int field_no, const char *error)
{
	Datum		values[4];
	bool		nulls[4] = {false, fields_null, error == NULL, error == NULL};

	values[0] = Int64GetDatum(rd->row_no);
	values[1] = fields;
	values[2] = Int32GetDatum(field_no);
	values[3] = error ? CStringGetTextDatum(error) : (Datum) 0;
	tuplestore_putvalues(rd->rsinfo->setResult, rd->rsinfo->setDesc, values, nulls);
}

/* gtfs_csv_error: reports one bad field of the current record, which is then not returned as data. */
static void
gtfs_csv_error(GtfsCsvReader *rd, GtfsCsvRecord *rec, int field_no, const char *error)
{
	rec->bad = true;
	gtfs_csv_emit(rd, (Datum) 0, true, field_no, error);
}

/*
 * gtfs_csv_add_field: appends the field text[len] to rec, NULL when empty, after checking that it is
 * UTF-8 without NUL bytes and converting it to the database encoding.
 */
static void
gtfs_csv_add_field(GtfsCsvReader *rd, GtfsCsvRecord *rec, const char *text, int len)
{
	int			field_no = rec->nfields + 1;
	int			i = 0;

	if (rec->nfields == rec->maxfields)
	{
		rec->maxfields *= 2;
		rec->values = repalloc(rec->values, sizeof(Datum) * rec->maxfields);
		rec->nulls = repalloc(rec->nulls, sizeof(bool) * rec->maxfields);
	}
	rec->nfields++;
	rec->nulls[field_no - 1] = (len == 0);
	rec->values[field_no - 1] = (Datum) 0;
	while (i < len)
	{
		int			l = pg_utf_mblen((const unsigned char *) text + i);

		if (text[i] == '\0')
		{
			gtfs_csv_error(rd, rec, field_no, "the field contains a NUL byte");
			return;
		}
		if (i + l > len || !pg_utf8_islegal((const unsigned char *) text + i, l))
		{
			gtfs_csv_error(rd, rec, field_no,
						   psprintf("the field is not valid UTF-8 (byte 0x%02x at byte %d of the field); GTFS files are UTF-8",
									(unsigned char) text[i], i + 1));
			return;
		}
		i += l;
	}
	if (len > 0 && !rec->bad)
	{
		char	   *conv = pg_any_to_server(text, len, PG_UTF8);

		rec->values[field_no - 1] = PointerGetDatum(cstring_to_text_with_len(conv, conv == text ? len : strlen(conv)));
	}
}

/* gtfs_csv_at_eol: whether pos is at the end of a record (end of data, LF or CR). */
static bool
gtfs_csv_at_eol(GtfsCsvReader *rd)
{
	return rd->pos >= rd->len || rd->buf[rd->pos] == '\n' || rd->buf[rd->pos] == '\r';
}

/*
 * gtfs_csv_read_field: reads one field at pos into field (reset first) and leaves pos at the comma or
 * end of record after it; false when the record is bad and was skipped to its end (or to the end of
 * the data, for an unclosed quote).
 */
static bool
gtfs_csv_read_field(GtfsCsvReader *rd, GtfsCsvRecord *rec, StringInfo field)
{
	resetStringInfo(field);
	if (rd->pos < rd->len && rd->buf[rd->pos] == '"')
	{
		rd->pos++;
		for (;;)
		{
			if (rd->pos >= rd->len)
			{
				gtfs_csv_error(rd, rec, rec->nfields + 1,
							   "a quoted field is not closed: the file ends inside it (a closing double quote is missing)");
				return false;
			}
			if (rd->buf[rd->pos] == '"')
			{
				if (rd->pos + 1 < rd->len && rd->buf[rd->pos + 1] == '"')
				{
					appendStringInfoChar(field, '"');
					rd->pos += 2;
					continue;
				}
				rd->pos++;
				break;
			}
			appendStringInfoChar(field, rd->buf[rd->pos++]);
		}
		if (!gtfs_csv_at_eol(rd) && rd->buf[rd->pos] != ',')
		{
			gtfs_csv_error(rd, rec, rec->nfields + 1,
						   "text after the closing double quote of a quoted field (a double quote inside a quoted field is written as two)");
			/* the rest of the record is unreliable: skip to its end */
			while (!gtfs_csv_at_eol(rd))
				rd->pos++;
			return false;
		}
		return true;
	}
	while (!gtfs_csv_at_eol(rd) && rd->buf[rd->pos] != ',')
		appendStringInfoChar(field, rd->buf[rd->pos++]);
	return true;
}

/* gtfs_csv_end_record: moves pos past the record's line end (LF, CRLF or CR); counts rows. */
static void
gtfs_csv_end_record(GtfsCsvReader *rd)
{
	if (rd->pos < rd->len && rd->buf[rd->pos] == '\r')
		rd->pos++;
	if (rd->pos < rd->len && rd->buf[rd->pos] == '\n')
		rd->pos++;
}

/*
 * gtfs_csv_read_record: reads the record at pos and emits it (its fields, or one row per error).
 * A record's row number is that of its first line; its quoted line breaks make later rows count on.
 */
static void
gtfs_csv_read_record(GtfsCsvReader *rd, GtfsCsvRecord *rec, StringInfo field)
{
	int64		line_breaks = 0;	/* inside quoted fields */
	bool		ok = true;

	rec->nfields = 0;
	rec->bad = false;
	for (;;)
	{
		int64		before = rd->pos;

		ok = gtfs_csv_read_field(rd, rec, field);
		for (int64 i = before; i < rd->pos; i++)
			if (rd->buf[i] == '\n' || (rd->buf[i] == '\r' && (i + 1 >= rd->pos || rd->buf[i + 1] != '\n')))
				line_breaks++;
		if (!ok)
			break;
		gtfs_csv_add_field(rd, rec, field->data, field->len);
		if (gtfs_csv_at_eol(rd))
			break;
		rd->pos++;				/* the comma */
	}
	if (ok && rd->header_fields >= 0 && rec->nfields != rd->header_fields)
		gtfs_csv_error(rd, rec, Min(rec->nfields, rd->header_fields) + 1,
					   psprintf("the row has %d field(s) and the header %d", rec->nfields, rd->header_fields));
	if (rd->header_fields < 0)
		rd->header_fields = rec->nfields;
	if (ok && !rec->bad)
	{
		int			dims[1] = {rec->nfields};
		int			lbs[1] = {1};

		gtfs_csv_emit(rd, PointerGetDatum(construct_md_array(rec->values, rec->nulls, 1, dims, lbs,
															 TEXTOID, -1, false, TYPALIGN_INT)),
					  false, 0, NULL);
	}
	rd->row_no += line_breaks;
	gtfs_csv_end_record(rd);
}

/*
 * gtfs_csv_records(content bytea) RETURNS TABLE (row_no bigint, fields text[], field_no int, error text)
 *	  The records of one GTFS file: for a good record its fields (field_no, error NULL); for a bad one a
 *	  row per error, fields NULL, field_no the 1-based field it concerns (one past the last field for a
 *	  row that is short of fields). Row 1 is the header, and it gives the number of fields every row must
 *	  have. SQL name faregate._gtfs_csv_records (internal to the loader; see the file comment).
 */
Datum
gtfs_csv_records(PG_FUNCTION_ARGS)
{
	bytea	   *content;
	GtfsCsvReader rd = {0};
	GtfsCsvRecord rec = {0};
	StringInfoData field;
	MemoryContext per_record;
	MemoryContext old;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the content of a GTFS file must not be null"),
				 errhint("Pass the file's bytes, e.g. pg_read_binary_file(...) or decode(..., 'base64').")));
	content = PG_GETARG_BYTEA_PP(0);
	InitMaterializedSRF(fcinfo, 0);
	rd.rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	rd.buf = VARDATA_ANY(content);
	rd.len = VARSIZE_ANY_EXHDR(content);
	rd.header_fields = -1;
	rd.row_no = 1;
	if (rd.len >= 3 && memcmp(rd.buf, "\xEF\xBB\xBF", 3) == 0)
		rd.pos = 3;

	per_record = AllocSetContextCreate(CurrentMemoryContext, "gtfs csv record", ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(per_record);
	while (rd.pos < rd.len)
	{
		MemoryContextReset(per_record);
		initStringInfo(&field);
		rec.maxfields = 16;
		rec.values = palloc(sizeof(Datum) * rec.maxfields);
		rec.nulls = palloc(sizeof(bool) * rec.maxfields);
		if (gtfs_csv_at_eol(&rd) && rd.header_fields >= 0)
			gtfs_csv_end_record(&rd);	/* an empty line: skipped, but it is a row */
		else
			gtfs_csv_read_record(&rd, &rec, &field);
		rd.row_no++;
		CHECK_FOR_INTERRUPTS();
	}
	MemoryContextSwitchTo(old);
	MemoryContextDelete(per_record);
	return (Datum) 0;
}
