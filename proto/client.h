#pragma once
// Client of vigil's API: a DEALER socket to the server's ROUTER, one request at a time per Client
// (use one Client per thread), and a subscriber for the PUB socket.

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "base/status.h"
#include "proto/keys.h"
#include "proto/vigil.pb.h"

namespace zmq {
class context_t;
class socket_t;
}  // namespace zmq

namespace vigil::api {

class Client {
 public:
  // Connects as `key`'s user (CURVE; ZeroMQ connects lazily: an absent server shows as Unavailable
  // on the first Call, a server that refuses the key as Unauthenticated).
  static Result<std::unique_ptr<Client>> Connect(const std::string& endpoint, const UserKey& key);
  ~Client();

  // Sends `request` (its id is filled in) and waits up to `timeout` for the matching response. A
  // response carrying an Error is returned as that error's Status; Unavailable when the server does
  // not answer in time, Unauthenticated when it refused the key.
  Result<v1::Response> Call(v1::Request request,
                            std::chrono::milliseconds timeout = std::chrono::seconds(10));

  // Pipelining: Send fills in the id and returns it; Receive returns the next response of any id
  // (an Error stays inside the Response, so it can be matched to its request).
  Result<uint64_t> Send(v1::Request request);
  Result<v1::Response> Receive(std::chrono::milliseconds timeout);

  // Sends raw bytes as a request body (tests of malformed input) and returns the raw reply.
  Result<std::string> CallRaw(const std::string& bytes,
                              std::chrono::milliseconds timeout = std::chrono::seconds(10));

 private:
  Client();
  std::unique_ptr<zmq::context_t> ctx_;
  std::unique_ptr<zmq::socket_t> socket_;
  std::unique_ptr<zmq::socket_t> monitor_;  // handshake outcomes of socket_
  std::string endpoint_;
  std::string user_;
  std::string refused_;  // why the server refused our key, once it has
  uint64_t next_id_ = 1;
  Status Refused();  // ok while no refusal was seen
};

// Makes `socket` a CURVE client with `key` (for subscribers: a SUB socket to the server's events).
Status UseKey(zmq::socket_t& socket, const UserKey& key);

// Progress of one clip: bytes on the client (or on the server, when not downloading), footage time
// written of the total planned.
using ClipProgressFn = std::function<void(int64_t bytes, int64_t covered_ns, int64_t total_ns)>;

// Follows clip `clip` of export `export_id` until the server has finished it (bytes stay on the
// server) and returns its manifest; the clip's error if it failed.
Result<v1::ClipManifest> WaitForClip(Client& client, const std::string& export_id, int clip,
                                     const ClipProgressFn& progress = {},
                                     std::chrono::milliseconds timeout = std::chrono::minutes(30));

// Downloads the clip into `path` (created or truncated) while the server writes it, with `window`
// fetches of `chunk` bytes in flight, checks the bytes against the manifest's SHA-256 (DataLoss if
// they differ) and returns the manifest.
Result<v1::ClipManifest> DownloadClip(Client& client, const std::string& export_id, int clip,
                                      const std::string& path, const ClipProgressFn& progress = {},
                                      int window = 4, int chunk = 1 << 20,
                                      std::chrono::milliseconds timeout = std::chrono::minutes(30));

}  // namespace vigil::api
