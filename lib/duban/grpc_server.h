#pragma once
// The gRPC process skeleton every duban server shares: listen address, bounded synchronous
// handler pool, grpc.health.v1 with per-service status, server reflection, one log line per
// RPC, and graceful shutdown with a deadline.
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <absl/status/statusor.h>
#include <grpcpp/grpcpp.h>

namespace duban {

struct ServerOptions {
  std::string listen = "127.0.0.1:0";
  // Bounds the synchronous handler threads: handlers block on SQLite or hiredis.
  int handler_threads = 64;
  // Handler threads kept polling for calls between calls (gRPC's MAX_POLLERS); a busy server
  // with fewer creates and ends a thread for about every other call.
  int idle_handler_threads = 2;
  std::chrono::milliseconds shutdown_grace{10000};
  // Fully-qualified service names reported SERVING by grpc.health.v1 once started.
  std::vector<std::string> health_services;
  // Logs one line per RPC at info level (method, code, latency, peer), when info is logged.
  bool log_rpcs = true;
};

class GrpcServer {
 public:
  // Builds and starts the server. The services must outlive it.
  static absl::StatusOr<std::unique_ptr<GrpcServer>> Start(
      const ServerOptions& options, const std::vector<grpc::Service*>& services);
  ~GrpcServer();

  // The address clients dial, with the chosen port when the listen port was 0.
  const std::string& address() const { return address_; }
  int port() const { return port_; }

  // Marks every health service (and the overall "") NOT_SERVING, waits for in-flight calls up
  // to the grace period, then cancels the rest. Idempotent.
  void Shutdown();

 private:
  GrpcServer() = default;
  ServerOptions options_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
  int port_ = 0;
  bool shut_down_ = false;
};

// Blocks SIGTERM and SIGINT for the calling thread and every thread created after it; Wait()
// returns the signal that arrived. Construct it first thing in main().
class ShutdownSignals {
 public:
  ShutdownSignals();
  int Wait();
};

// An insecure channel to another duban process (HOST:PORT or unix:PATH).
std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address);

}  // namespace duban
