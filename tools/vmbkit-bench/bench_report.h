// SPDX-License-Identifier: MIT
// BenchReport: how vmbkit-bench prints what it measured. Every figure is a Row (a bench name, a
// transport, a payload size and named numbers); the report prints rows either as aligned tables
// grouped by bench, with the ratios that the targets need, or as JSON, one object per line
// (--json), so scripts and tests can read them. Not here: measuring anything (sample_runner.h,
// the *_bench.h files) or deciding what is run (main.cc).
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace vmb::bench {

// One JSON object on one line, built field by field in the order given. Strings are escaped;
// numbers that are not finite are written as null (JSON has no NaN).
class JsonLine {
 public:
  JsonLine& add(const std::string& key, const std::string& value);
  JsonLine& add(const std::string& key, const char* value) { return add(key, std::string(value)); }
  JsonLine& add(const std::string& key, double value);
  JsonLine& add(const std::string& key, uint64_t value);
  JsonLine& add(const std::string& key, bool value);
  [[nodiscard]] std::string text() const { return "{" + body_ + "}"; }

 private:
  void key(const std::string& name);
  std::string body_;
};

// A field of a Row: text, an integer or a measured figure.
using Field = std::variant<std::string, uint64_t, double, bool>;

// One measured result: {"bench": bench, then every field in order}.
struct Row {
  explicit Row(std::string bench_name) : bench(std::move(bench_name)) {}

  std::string bench;
  std::vector<std::pair<std::string, Field>> fields;

  Row& with(std::string name, Field value) {
    fields.emplace_back(std::move(name), std::move(value));
    return *this;
  }
  // The field's number (integers converted); NaN if absent or text.
  [[nodiscard]] double number(const std::string& name) const;
  // The field's text; "" if absent or a number.
  [[nodiscard]] std::string string(const std::string& name) const;
};

// Prints rows as they come: JSON lines at once, or tables (a title, a header and aligned
// columns). Not thread-safe; the bench prints from the main thread only.
class BenchReport {
 public:
  BenchReport(std::FILE* out, bool json) : out_(out), json_(json) {}

  [[nodiscard]] bool json() const { return json_; }

  // Prints one row (JSON mode) or nothing (table mode: the caller prints a table).
  void emit(const Row& row);
  // Table mode only: a blank line, the title, then `columns` as the header.
  void table(const std::string& title, const std::vector<std::string>& columns);
  // Table mode only: one line of cells, aligned under the header of the last table().
  void line(const std::vector<std::string>& cells);
  // Table mode only: free text (a note under a table).
  void note(const std::string& text);

 private:
  std::FILE* out_;
  bool json_;
  std::vector<size_t> widths_;
};

// Formats a figure for a table: 3 significant digits with k/M/G suffixes for large values.
std::string human(double value);
// Formats a ratio such as "1.84x"; "-" if not finite.
std::string ratio_text(double value);

}  // namespace vmb::bench
