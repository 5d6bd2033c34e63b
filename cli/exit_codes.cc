#include "exit_codes.h"

namespace duban::cli {

ExitCode ExitCodeFor(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return kExitOk;
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::OUT_OF_RANGE:
      return kExitInvalidArgument;
    case grpc::StatusCode::NOT_FOUND:
      return kExitNotFound;
    case grpc::StatusCode::ALREADY_EXISTS:
    case grpc::StatusCode::ABORTED:
    case grpc::StatusCode::FAILED_PRECONDITION:
      return kExitConflict;
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::CANCELLED:
      return kExitUnavailable;
    case grpc::StatusCode::PERMISSION_DENIED:
    case grpc::StatusCode::UNAUTHENTICATED:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return kExitDenied;
    default:
      return kExitFailure;
  }
}

const char* ExitCodeHelp() {
  return "Exit codes:\n"
         "  0  success\n"
         "  1  other failure (server INTERNAL/UNKNOWN, ...)\n"
         "  2  bad command line or local input file\n"
         "  3  the server rejected a field (INVALID_ARGUMENT, OUT_OF_RANGE)\n"
         "  4  not found\n"
         "  5  conflict: already exists, etag mismatch (ABORTED), failed precondition\n"
         "  6  service unavailable or deadline exceeded (safe to retry)\n"
         "  7  permission denied, unauthenticated or resource exhausted\n";
}

}  // namespace duban::cli
