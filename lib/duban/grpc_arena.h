#pragma once
// A MessageAllocator for callback-API unary methods that puts the request and the response on
// one protobuf Arena with an inline first block. A response of 100 units is ~1,100 separate
// heap objects (strings, timestamps, the units themselves), each allocated while it is built
// and freed after it is sent; on an arena building is a pointer bump and freeing is one
// Release. Use it on methods whose responses are large and built from memory (ListUnits).
#include <cstddef>

#include <google/protobuf/arena.h>
#include <grpcpp/support/message_allocator.h>

namespace duban {

template <typename Request, typename Response, size_t kInlineBytes = 32 * 1024>
class ArenaMessageAllocator final : public grpc::MessageAllocator<Request, Response> {
 public:
  grpc::MessageHolder<Request, Response>* AllocateMessages() override { return new Holder; }

 private:
  class Holder final : public grpc::MessageHolder<Request, Response> {
   public:
    Holder() : arena_(Options(block_)) {
      this->set_request(google::protobuf::Arena::CreateMessage<Request>(&arena_));
      this->set_response(google::protobuf::Arena::CreateMessage<Response>(&arena_));
    }
    void Release() override { delete this; }
    // gRPC frees the request early when the handler says it is done with it; on an arena it
    // is freed with the rest.
    void FreeRequest() override {}

   private:
    static google::protobuf::ArenaOptions Options(char* block) {
      google::protobuf::ArenaOptions o;
      o.initial_block = block;
      o.initial_block_size = kInlineBytes;
      return o;
    }
    // The arena's first block, inside the holder (one heap allocation per call); declared
    // before arena_, so it outlives it.
    alignas(std::max_align_t) char block_[kInlineBytes];
    google::protobuf::Arena arena_;
  };
};

}  // namespace duban
