#pragma once
// vigil's API server: a ZeroMQ ROUTER socket answering Requests (proto/vigil.proto) and a PUB
// socket publishing LiveMessages.
//
// Threads: one front thread owns both ZeroMQ sockets; it hands each request to an idle worker of a
// pool (inproc ROUTER/DEALER with two credits per worker: a worker holds at most one request besides
// the one it answers; the rest wait in the front thread, per client and served round-robin, so a
// client that floods waits behind itself; beyond 1,000 waiting for one client or 10,000 in all:
// UNAVAILABLE) and sends their replies back through the ROUTER. Each
// worker reads through its own read-only store connection; writes (cameras, watchlist, alerts) go to
// the node's store. A slow request occupies one worker and delays at most one request; a client
// that never reads its replies only fills its own queue (the ROUTER drops what it cannot deliver);
// a malformed frame is answered with Error MALFORMED. Nothing a client sends stops the server.
// Export fetches waiting for bytes are parked in the Exporter and answered later through the front
// thread, without holding a worker.

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "index/store.h"
#include "proto/access.h"
#include "proto/exporter.h"
#include "proto/keys.h"
#include "proto/vigil.pb.h"

namespace vigil::api {

inline constexpr char kVigilVersion[] = "0.2.0";

using OpenReader = std::function<Result<std::unique_ptr<index::Store>>()>;
// Fills the node's live part of a status answer (camera health); vigild wires the recorder in.
using StatusFiller = std::function<void(v1::StatusResult*)>;
// Answers a SnapshotRequest from the node's live pictures (vigild: analytics' latest frames).
using SnapshotTaker = std::function<Status(const v1::SnapshotRequest&, v1::SnapshotResult*)>;

struct ServerOptions {
  std::string requests = "tcp://127.0.0.1:7700";  // ROUTER
  std::string events = "tcp://127.0.0.1:7701";    // XPUB
  // Both sockets are CURVE servers with this key pair; only keys in `keyring` connect, each request
  // and subscription is checked against its holder's role (proto/access.h). Required.
  KeyPair server_key;
  std::shared_ptr<Keyring> keyring;
  int workers = 2;
  // Largest request accepted; larger ones are answered RESOURCE_EXHAUSTED (ZeroMQ drops the peer
  // beyond 4x this, before reading it into memory).
  int64_t max_request_bytes = 1 << 20;
  // Connections (both sockets together) one peer address may hold, and all peers together; beyond
  // either, a new connection is closed as soon as it is accepted.
  int max_connections_per_peer = 256;
  int max_connections = 4096;
  StatusFiller status;  // may be empty
  SnapshotTaker snapshot;  // may be empty: snapshots refused
  ExportOptions exports;  // data_dir empty: exports refused
};


class Server {
 public:
  // Binds both sockets (InvalidArgument / Unavailable naming the endpoint when it cannot) and starts
  // the threads. `store` must outlive the server.
  static Result<std::unique_ptr<Server>> Start(const ServerOptions& options, index::Store& store,
                                               OpenReader open_reader, Clock& clock);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Queues a live message for the PUB socket under `topic` ("event.cam1", "alert.cam3", ...).
  // Never blocks: the front thread sends it.
  void Publish(const std::string& topic, v1::LiveMessage message);

  // The endpoints actually bound (a "tcp://127.0.0.1:*" request gets its port filled in).
  const std::string& requests_endpoint() const { return requests_endpoint_; }
  const std::string& events_endpoint() const { return events_endpoint_; }

  // Requests answered so far (for tests and status).
  int64_t answered() const;

 private:
  struct Impl;
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  std::string requests_endpoint_, events_endpoint_;
};

// libprotobuf logs every malformed string it decodes to stderr, so a client could flood the log:
// route those lines to the "api" logger at debug level (the client is told in its reply).
void QuietProtobufLogs();

// Answers one decoded request against the stores: the worker's core, exposed for tests.
// Export requests need `exporter` (FAILED_PRECONDITION without); fetches are answered by the
// server's workers through Exporter::Fetch, not here.
// `who` is the authenticated caller (the role was checked before; dispatch exports are checked here).
v1::Response Handle(const v1::Request& request, const Identity& who, index::Store& reader,
                    index::Store& writer, Clock& clock, const StatusFiller& status = {}, int64_t started_ns = 0,
                    Exporter* exporter = nullptr, const SnapshotTaker& snapshot = {});

}  // namespace vigil::api
