#include "storage/file_util.h"

#include <xxhash.h>

#include "base/coding.h"
#include "base/status_macros.h"
#include "base/str_cat.h"

namespace burnrate {

uint64_t Checksum64(std::string_view data) { return XXH3_64bits(data.data(), data.size()); }

absl::Status WriteFileAtomically(FileSystem* fs, const std::string& dir, const std::string& name,
                                 std::string_view contents) {
  const std::string tmp = StrCat(dir, "/", name, ".tmp");
  BR_ASSIGN_OR_RETURN(auto file, fs->NewWritableFile(tmp));
  BR_RETURN_IF_ERROR(file->Append(contents));
  BR_RETURN_IF_ERROR(file->Sync());
  BR_RETURN_IF_ERROR(file->Close());
  BR_RETURN_IF_ERROR(fs->RenameFile(tmp, StrCat(dir, "/", name)));
  return fs->SyncDir(dir);
}

std::string FrameChecksummed(std::string_view magic8, std::string_view payload) {
  std::string out;
  out.reserve(payload.size() + 24);
  out.append(magic8.data(), magic8.size());
  PutFixed64(&out, payload.size());
  out.append(payload.data(), payload.size());
  PutFixed64(&out, Checksum64(out));
  return out;
}

absl::StatusOr<std::string> UnframeChecksummed(std::string_view magic8, const std::string& path,
                                               std::string contents) {
  if (contents.size() < 24) {
    return absl::DataLossError(
        StrCat(path, ": file is ", contents.size(), " bytes, shorter than its 24-byte frame"));
  }
  if (std::string_view(contents.data(), 8) != magic8) {
    return absl::DataLossError(StrCat(path, " at offset 0: bad magic"));
  }
  const uint64_t len = DecodeFixed64(contents.data() + 8);
  if (len != contents.size() - 24) {
    return absl::DataLossError(StrCat(path, " at offset 8: payload length ", len,
                                      " does not match file size ", contents.size()));
  }
  const uint64_t want = DecodeFixed64(contents.data() + contents.size() - 8);
  if (Checksum64(std::string_view(contents.data(), contents.size() - 8)) != want) {
    return absl::DataLossError(
        StrCat(path, " at offset ", contents.size() - 8, ": checksum mismatch"));
  }
  contents.resize(contents.size() - 8);
  contents.erase(0, 16);
  return contents;
}

}  // namespace burnrate
