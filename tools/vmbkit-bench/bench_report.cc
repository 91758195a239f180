// SPDX-License-Identifier: MIT
// BenchReport (bench_report.h): JSON lines and aligned tables for vmbkit-bench's figures.
#include "bench_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace vmb::bench {
namespace {

std::string json_string(const std::string& text) {
  std::string out = "\"";
  for (const char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string json_number(double value) {
  if (!std::isfinite(value)) return "null";
  // Large figures (packets/s, bytes/s, ns) as whole numbers; small ones (ratios, signals per
  // packet) with four significant digits, which JSON accepts in exponent form too.
  if (std::fabs(value) >= 1000.0) return fmt::format("{:.0f}", value);
  return fmt::format("{:.4g}", value);
}

}  // namespace

void JsonLine::key(const std::string& name) {
  if (!body_.empty()) body_ += ",";
  body_ += json_string(name) + ":";
}

JsonLine& JsonLine::add(const std::string& name, const std::string& value) {
  key(name);
  body_ += json_string(value);
  return *this;
}

JsonLine& JsonLine::add(const std::string& name, double value) {
  key(name);
  body_ += json_number(value);
  return *this;
}

JsonLine& JsonLine::add(const std::string& name, uint64_t value) {
  key(name);
  body_ += fmt::format("{}", value);
  return *this;
}

JsonLine& JsonLine::add(const std::string& name, bool value) {
  key(name);
  body_ += value ? "true" : "false";
  return *this;
}

double Row::number(const std::string& name) const {
  for (const auto& [field_name, value] : fields) {
    if (field_name != name) continue;
    if (const auto* d = std::get_if<double>(&value)) return *d;
    if (const auto* u = std::get_if<uint64_t>(&value)) return static_cast<double>(*u);
  }
  return std::numeric_limits<double>::quiet_NaN();
}

std::string Row::string(const std::string& name) const {
  for (const auto& [field_name, value] : fields) {
    if (field_name != name) continue;
    if (const auto* s = std::get_if<std::string>(&value)) return *s;
  }
  return {};
}

void BenchReport::emit(const Row& row) {
  if (!json_) return;
  JsonLine line;
  line.add("bench", row.bench);
  for (const auto& [name, value] : row.fields) {
    std::visit([&line, &name = name](const auto& v) { line.add(name, v); }, value);
  }
  fmt::print(out_, "{}\n", line.text());
  static_cast<void>(std::fflush(out_));
}

void BenchReport::table(const std::string& title, const std::vector<std::string>& columns) {
  if (json_) return;
  widths_.clear();
  for (const std::string& column : columns) widths_.push_back(std::max<size_t>(column.size(), 9));
  if (!widths_.empty()) widths_[0] = std::max<size_t>(widths_[0], 34);
  fmt::print(out_, "\n{}\n", title);
  line(columns);
}

void BenchReport::line(const std::vector<std::string>& cells) {
  if (json_) return;
  std::string text = " ";
  for (size_t i = 0; i < cells.size(); ++i) {
    const size_t width = i < widths_.size() ? widths_[i] : 9;
    // The first column (a name) is left-aligned, figures are right-aligned.
    text +=
        i == 0 ? fmt::format(" {:<{}}", cells[i], width) : fmt::format(" {:>{}}", cells[i], width);
  }
  fmt::print(out_, "{}\n", text);
  static_cast<void>(std::fflush(out_));
}

void BenchReport::note(const std::string& text) {
  if (json_) return;
  fmt::print(out_, "  {}\n", text);
}

std::string human(double value) {
  if (!std::isfinite(value)) return "-";
  const double magnitude = std::fabs(value);
  if (magnitude >= 1e9) return fmt::format("{:.3g}G", value / 1e9);
  if (magnitude >= 1e6) return fmt::format("{:.3g}M", value / 1e6);
  if (magnitude >= 1e4) return fmt::format("{:.3g}k", value / 1e3);
  if (magnitude >= 100) return fmt::format("{:.0f}", value);
  return fmt::format("{:.3g}", value);
}

std::string ratio_text(double value) {
  if (!std::isfinite(value)) return "-";
  return fmt::format("{:.2f}x", value);
}

}  // namespace vmb::bench
