#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "burnrate/scan.h"

// Row operations on decoded columns (ScanColumn / ScanBatch), shared by the memtable, the
// scan merge and flush.

namespace burnrate {

// Appends rows [begin, end) of src to dst (same type), keeping dst's validity convention
// (empty `valid` means all valid).
void AppendColumnRows(const ScanColumn& src, size_t begin, size_t end, ScanColumn* dst);
// Appends n null rows.
void AppendNulls(ScanColumn* dst, size_t n);
// Appends one row: row `row` of src, or a null when src is null.
void AppendColumnRow(const ScanColumn* src, size_t row, ScanColumn* dst);
// Number of rows of a column (the length of its value vector).
size_t ColumnRows(const ScanColumn& c);
// Resets values and validity, keeping name and type.
void ClearColumn(ScanColumn* c);
// Drops `valid` when every row is valid.
void CompactValidity(ScanColumn* c);

// Sorts rows by time, stably, and merges rows with equal times: for each field the value
// of the last row (in input order) that has it wins. Input: batch with arbitrary order;
// the result replaces it.
void SortAndDedupRows(ScanBatch* batch);

// True when times are strictly increasing.
bool StrictlyIncreasing(std::span<const int64_t> times);

}  // namespace burnrate
