// ParseDocuments and ReadDocumentsFile (document.h): the input guards, then
// the JSON or the YAML reader, then Lists replaced by their items. The parts
// live beside this file, one idea each:
//   input_guards.h  what is refused before parsing (size, encoding,
//                   characters, a nesting estimate)
//   yaml_reader.h   YAML through yaml-cpp's events (anchors, aliases, tags)
//   json_reader.h   JSON through nlohmann's SAX parser (exact numbers)
//   tree_builder.h  the tree both readers build, with depth, duplicate-key
//                   and merge-key checks
//   parse_error.h   how the errors read
#include "api/document.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <limits>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "api/input_guards.h"
#include "api/json_reader.h"
#include "api/tree_builder.h"
#include "api/yaml_reader.h"

namespace ctask::api {
namespace {

using internal::BuiltDocument;
using internal::ReadResult;

// ---------------------------------------------------------------------------
// Documents.

bool IsListKind(const Json& value) {
  if (!value.is_object()) return false;
  const auto kind = value.find("kind");
  if (kind == value.end() || !kind->is_string() || !kind->get_ref<const std::string&>().ends_with("List")) {
    return false;
  }
  const auto items = value.find("items");
  return items != value.end() && (items->is_array() || items->is_null());
}

int ClampLine(int64_t line) {
  return static_cast<int>(std::clamp<int64_t>(line, 0, std::numeric_limits<int>::max()));
}

// Adds a document, or a List's items in its place (kubectl flattens Lists,
// nested ones too; the depth limit bounds the recursion).
void AppendDocuments(Json value, int index, int64_t line, const std::vector<int64_t>& item_lines,
                     std::vector<Document>* documents) {
  if (value.is_null()) return;  // empty document
  if (!IsListKind(value)) {
    documents->push_back(Document{std::move(value), index, ClampLine(line)});
    return;
  }
  Json& items = value["items"];
  if (items.is_null()) return;
  auto& array = items.get_ref<Json::array_t&>();
  for (std::size_t i = 0; i < array.size(); ++i) {
    const int64_t item_line = i < item_lines.size() ? item_lines[i] : line;
    AppendDocuments(std::move(array[i]), index, item_line, {}, documents);
  }
}

std::vector<Document> Flatten(std::vector<BuiltDocument> built) {
  std::vector<Document> documents;
  for (BuiltDocument& document : built) {
    AppendDocuments(std::move(document.value), document.index, document.line, document.item_lines, &documents);
  }
  return documents;
}

Result<std::vector<Document>> ParseDocumentsUnchecked(std::string_view input) {
  Result<std::string_view> checked = internal::CheckInput(input);
  if (!checked) return std::unexpected(checked.error());
  const std::string_view text = *checked;

  const std::size_t first = text.find_first_not_of(" \t\r\n");
  const bool looks_like_json = first != std::string_view::npos && (text[first] == '{' || text[first] == '[');
  if (!looks_like_json) {
    ReadResult parsed = internal::ReadYaml(text);
    if (!parsed) return std::unexpected(parsed.error().error);
    return Flatten(std::move(*parsed));
  }
  // JSON is (nearly) YAML, but yaml-cpp rejects \u surrogate pairs and reads
  // numbers the YAML way; a JSON parser gets JSON exactly right. Flow-style
  // YAML ({a: 1}) is not JSON: if the text is not JSON, try YAML, and when
  // neither accepts it report the JSON error, which is the more precise one.
  ReadResult json = internal::ReadJson(text);
  if (json) return Flatten(std::move(*json));
  if (!json.error().syntax) return std::unexpected(json.error().error);
  ReadResult yaml = internal::ReadYaml(text);
  if (yaml) return Flatten(std::move(*yaml));
  return std::unexpected(yaml.error().syntax ? json.error().error : yaml.error().error);
}

// ---------------------------------------------------------------------------
// Files.

Error IoError(const std::string& name, int error_number) {
  const ErrorCode code = ErrorCodeForErrno(error_number, ErrorCode::kInvalidArgument);
  return Error(code, name + ": cannot read: " + std::generic_category().message(error_number));
}

Result<std::string> ReadAll(const std::string& path, const std::string& name) {
  const bool is_stdin = path == "-";
  const int fd = is_stdin ? STDIN_FILENO : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::unexpected(IoError(name, errno));
  struct Closer {
    int fd;
    bool close_it;
    ~Closer() {
      if (close_it) ::close(fd);
    }
  } closer{fd, !is_stdin};

  const std::string too_large = name + ": file is larger than " + std::to_string(kMaxDocumentFileBytes >> 20) + " MiB";
  struct stat info {};
  if (::fstat(fd, &info) == 0) {
    if (S_ISDIR(info.st_mode)) return std::unexpected(IoError(name, EISDIR));
    if (S_ISREG(info.st_mode) && static_cast<uint64_t>(info.st_size) > kMaxDocumentFileBytes) {
      return InvalidArgument(too_large);
    }
  }
  // The size may be unknown (pipes) or change while reading: enforce the
  // limit on what is actually read.
  std::string data;
  std::vector<char> buffer(std::size_t{64} * 1024);
  while (true) {
    const ssize_t count = ::read(fd, buffer.data(), buffer.size());
    if (count < 0) {
      if (errno == EINTR) continue;
      return std::unexpected(IoError(name, errno));
    }
    if (count == 0) break;
    if (data.size() + static_cast<std::size_t>(count) > kMaxDocumentFileBytes) {
      return InvalidArgument(too_large);
    }
    data.append(buffer.data(), static_cast<std::size_t>(count));
  }
  return data;
}

}  // namespace

Result<std::vector<Document>> ParseDocuments(std::string_view text) {
  try {
    return ParseDocumentsUnchecked(text);
  } catch (const std::exception& e) {
    return InvalidArgument(std::string("cannot parse: ") + e.what());
  } catch (...) {
    return InvalidArgument("cannot parse");
  }
}

Result<std::vector<Document>> ReadDocumentsFile(const std::string& path) {
  const std::string name = path == "-" ? "<stdin>" : path;
  try {
    auto data = ReadAll(path, name);
    if (!data) return std::unexpected(data.error());
    auto documents = ParseDocuments(*data);
    if (!documents) return std::unexpected(documents.error().WithContext(name));
    return documents;
  } catch (const std::exception& e) {
    return InvalidArgument(name + ": " + e.what());
  }
}

}  // namespace ctask::api
