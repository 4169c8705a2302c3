#pragma once
// Client of vigil's API: a DEALER socket to the server's ROUTER, one request at a time per Client
// (use one Client per thread), and a subscriber for the PUB socket.

#include <chrono>
#include <memory>
#include <string>

#include "base/status.h"
#include "proto/vigil.pb.h"

namespace zmq {
class context_t;
class socket_t;
}  // namespace zmq

namespace vigil::api {

class Client {
 public:
  // Connects (ZeroMQ connects lazily: an absent server shows as Unavailable on the first Call).
  static Result<std::unique_ptr<Client>> Connect(const std::string& endpoint,
                                                 std::string user = "");
  ~Client();

  // Sends `request` (its id and user are filled in) and waits up to `timeout` for the matching
  // response. A response carrying an Error is returned as that error's Status; Unavailable when the
  // server does not answer in time.
  Result<v1::Response> Call(v1::Request request,
                            std::chrono::milliseconds timeout = std::chrono::seconds(10));

  // Sends raw bytes as a request body (tests of malformed input) and returns the raw reply.
  Result<std::string> CallRaw(const std::string& bytes,
                              std::chrono::milliseconds timeout = std::chrono::seconds(10));

 private:
  Client();
  std::unique_ptr<zmq::context_t> ctx_;
  std::unique_ptr<zmq::socket_t> socket_;
  std::string endpoint_;
  std::string user_;
  uint64_t next_id_ = 1;
};

}  // namespace vigil::api
