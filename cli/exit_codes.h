#pragma once
// dubanctl's documented exit codes. Scripts branch on these, so they are part of the CLI's
// contract: never renumber, only add.
#include <grpcpp/support/status_code_enum.h>

namespace duban::cli {

enum ExitCode : int {
  kExitOk = 0,
  kExitFailure = 1,          // anything not listed below (INTERNAL, UNKNOWN, DATA_LOSS, ...)
  kExitUsage = 2,            // bad command line or unreadable/invalid local input file
  kExitInvalidArgument = 3,  // the server rejected a field (INVALID_ARGUMENT, OUT_OF_RANGE)
  kExitNotFound = 4,         // NOT_FOUND
  kExitConflict = 5,         // ALREADY_EXISTS, ABORTED (etag), FAILED_PRECONDITION
  kExitUnavailable = 6,      // UNAVAILABLE, DEADLINE_EXCEEDED, CANCELLED: safe to retry
  kExitDenied = 7,           // PERMISSION_DENIED, UNAUTHENTICATED, RESOURCE_EXHAUSTED
};

ExitCode ExitCodeFor(grpc::StatusCode code);

// The table printed at the end of `dubanctl --help`.
const char* ExitCodeHelp();

}  // namespace duban::cli
