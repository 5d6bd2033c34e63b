#include "duban/grpc_server.h"

#include <signal.h>

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/support/server_interceptor.h>
#include <spdlog/spdlog.h>

#include <absl/strings/match.h>
#include <absl/strings/str_cat.h>

namespace duban {
namespace {

using grpc::experimental::InterceptionHookPoints;

// One line per RPC. Method names and codes only: request bodies may carry personal data.
class RpcLogInterceptor : public grpc::experimental::Interceptor {
 public:
  explicit RpcLogInterceptor(grpc::experimental::ServerRpcInfo* info)
      : info_(info), start_(std::chrono::steady_clock::now()) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      grpc::Status status = methods->GetSendStatus();
      auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
                        std::chrono::steady_clock::now() - start_)
                        .count();
      spdlog::info("rpc method={} code={} latency_us={} peer={}", info_->method(),
                   static_cast<int>(status.error_code()), micros, info_->server_context()->peer());
    }
    methods->Proceed();
  }

 private:
  grpc::experimental::ServerRpcInfo* info_;
  std::chrono::steady_clock::time_point start_;
};

class RpcLogInterceptorFactory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new RpcLogInterceptor(info);
  }
};

}  // namespace

absl::StatusOr<std::unique_ptr<GrpcServer>> GrpcServer::Start(
    const ServerOptions& options, const std::vector<grpc::Service*>& services) {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  std::unique_ptr<GrpcServer> self(new GrpcServer());
  self->options_ = options;

  grpc::ServerBuilder builder;
  int selected_port = 0;
  bool is_unix = absl::StartsWith(options.listen, "unix:");
  builder.AddListeningPort(options.listen, grpc::InsecureServerCredentials(),
                           is_unix ? nullptr : &selected_port);
  for (grpc::Service* service : services) builder.RegisterService(service);

  grpc::ResourceQuota quota("duban-handlers");
  quota.SetMaxThreads(options.handler_threads);
  builder.SetResourceQuota(quota);
  // gRPC's sync server ends a handler thread that finishes a call while more than MAX_POLLERS
  // threads poll, and starts one when none is left: with 16 calls in flight and its default of
  // 2 that is a thread created and ended for about every other call. Keeping more saves 10-20%
  // of CPU per sync call, but many pollers on the shared pollset slowed units' callback-API
  // ListUnits (p99 6.5-7.2 -> 10.3-10.9 ms; docs/benchmarks.md, issue 2), so each binary picks.
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MAX_POLLERS,
                              options.idle_handler_threads);
  builder.SetMaxReceiveMessageSize(64 << 20);

  // The interceptor costs every call an allocation and hooks even when its line is dropped, so
  // it is installed only when info lines are logged (the level is fixed at start-up).
  if (options.log_rpcs && spdlog::should_log(spdlog::level::info)) {
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
    creators.push_back(std::make_unique<RpcLogInterceptorFactory>());
    builder.experimental().SetInterceptorCreators(std::move(creators));
  }

  self->server_ = builder.BuildAndStart();
  if (!self->server_ || (!is_unix && selected_port == 0)) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options.listen));
  }
  if (is_unix) {
    self->address_ = options.listen;
  } else {
    self->port_ = selected_port;
    std::string host = options.listen.substr(0, options.listen.rfind(':'));
    if (host == "0.0.0.0" || host == "[::]") host = "127.0.0.1";
    self->address_ = absl::StrCat(host, ":", selected_port);
  }
  auto* health = self->server_->GetHealthCheckService();
  health->SetServingStatus(true);
  for (const auto& name : options.health_services) health->SetServingStatus(name, true);
  return self;
}

void GrpcServer::Shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  // Tell load balancers and health checkers first, then drain.
  server_->GetHealthCheckService()->SetServingStatus(false);
  server_->Shutdown(std::chrono::system_clock::now() + options_.shutdown_grace);
  server_->Wait();
}

GrpcServer::~GrpcServer() {
  if (server_) Shutdown();
}

ShutdownSignals::ShutdownSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int ShutdownSignals::Wait() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  int sig = 0;
  sigwait(&set, &sig);
  return sig;
}

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address) {
  return grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
}

}  // namespace duban
