#include "proto/client.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <map>

#include <fmt/format.h>
#include <zmq.hpp>

#include "base/sha256.h"
#include "proto/convert.h"

namespace vigil::api {

Client::Client() = default;
Client::~Client() = default;

Status UseKey(zmq::socket_t& socket, const UserKey& key) {
  try {
    socket.set(zmq::sockopt::curve_serverkey, key.server_key);
    socket.set(zmq::sockopt::curve_publickey, key.pair.public_key);
    socket.set(zmq::sockopt::curve_secretkey, key.pair.secret_key);
  } catch (const zmq::error_t& e) {
    return Status::InvalidArgument(fmt::format("cannot use the key of {}: {}", key.user, e.what()));
  }
  return Status::Ok();
}

Result<std::unique_ptr<Client>> Client::Connect(const std::string& endpoint, const UserKey& key) {
  static std::atomic<int> monitors{0};
  std::unique_ptr<Client> c(new Client());
  c->ctx_ = std::make_unique<zmq::context_t>(1);
  c->socket_ = std::make_unique<zmq::socket_t>(*c->ctx_, zmq::socket_type::dealer);
  c->endpoint_ = endpoint;
  c->user_ = key.user;
  try {
    c->socket_->set(zmq::sockopt::linger, 0);
    VIGIL_RETURN_IF_ERROR(UseKey(*c->socket_, key));
    // Handshake failures are otherwise silent (ZeroMQ retries): watch for the server's refusal.
    std::string mon = fmt::format("inproc://client-monitor-{}", monitors.fetch_add(1));
    if (zmq_socket_monitor(c->socket_->handle(), mon.c_str(),
                           ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) != 0) {
      return Status::Internal(fmt::format("cannot watch the connection to {}", endpoint));
    }
    c->monitor_ = std::make_unique<zmq::socket_t>(*c->ctx_, zmq::socket_type::pair);
    c->monitor_->set(zmq::sockopt::linger, 0);
    c->monitor_->connect(mon);
    c->socket_->connect(endpoint);
  } catch (const zmq::error_t& e) {
    return Status::InvalidArgument(fmt::format("cannot connect to {}: {}", endpoint, e.what()));
  }
  return c;
}

Status Client::Refused() {
  for (;;) {
    zmq::message_t event, address;
    if (!monitor_->recv(event, zmq::recv_flags::dontwait)) break;
    if (event.more()) (void)monitor_->recv(address);
    if (event.size() < 6) continue;
    uint16_t kind;
    uint32_t value;
    std::memcpy(&kind, event.data(), 2);
    std::memcpy(&value, static_cast<const char*>(event.data()) + 2, 4);
    if (kind == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
      refused_ = fmt::format(
          "{} refused the key of {} (status {}): it is not authorised there, or was revoked",
          endpoint_, user_, value);
    } else if (kind == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) {
      refused_ = fmt::format("the handshake with {} failed (protocol error {:#x}): is it a vigil "
                             "server, and is the key file's server_key this server's?",
                             endpoint_, value);
    }
  }
  if (refused_.empty()) return Status::Ok();
  return Status::Unauthenticated(refused_);
}

Result<std::string> Client::CallRaw(const std::string& bytes, std::chrono::milliseconds timeout) {
  try {
    socket_->send(zmq::buffer(bytes), zmq::send_flags::none);
    zmq::pollitem_t item{socket_->handle(), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, timeout) == 0) {
      VIGIL_RETURN_IF_ERROR(Refused());
      return Status::Unavailable(
          fmt::format("no answer from {} within {} ms", endpoint_, timeout.count()));
    }
    zmq::message_t m;
    (void)socket_->recv(m);
    while (m.more()) (void)socket_->recv(m);  // the body is the last frame
    return m.to_string();
  } catch (const zmq::error_t& e) {
    return Status::Unavailable(fmt::format("talking to {}: {}", endpoint_, e.what()));
  }
}

Result<v1::Response> Client::Call(v1::Request request, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  VIGIL_ASSIGN_OR_RETURN(uint64_t id, Send(std::move(request)));
  // Skip late answers to earlier calls that timed out.
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                      std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return Status::Unavailable(
          fmt::format("no answer from {} within {} ms", endpoint_, timeout.count()));
    }
    auto resp = Receive(left);
    if (!resp.ok()) {
      if (resp.error().code() == StatusCode::kUnauthenticated) return resp.error();
      if (std::chrono::steady_clock::now() >= deadline) {
        return Status::Unavailable(
            fmt::format("no answer from {} within {} ms", endpoint_, timeout.count()));
      }
      return resp.error();
    }
    if (resp->id() != id && resp->id() != 0) continue;
    if (resp->has_error()) return FromError(resp->error());
    return resp;
  }
}

Result<uint64_t> Client::Send(v1::Request request) {
  const uint64_t id = next_id_++;
  request.set_id(id);
  std::string sent = request.SerializeAsString();
  try {
    socket_->send(zmq::buffer(sent), zmq::send_flags::none);
  } catch (const zmq::error_t& e) {
    return Status::Unavailable(fmt::format("sending to {}: {}", endpoint_, e.what()));
  }
  return id;
}

Result<v1::Response> Client::Receive(std::chrono::milliseconds timeout) {
  try {
    // Wait for an answer or the server's refusal of our key, whichever comes first.
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      VIGIL_RETURN_IF_ERROR(Refused());
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() < 0) left = std::chrono::milliseconds(0);
      zmq::pollitem_t items[] = {{socket_->handle(), 0, ZMQ_POLLIN, 0},
                                 {monitor_->handle(), 0, ZMQ_POLLIN, 0}};
      zmq::poll(items, 2, left);
      if (items[0].revents & ZMQ_POLLIN) break;
      if (items[1].revents & ZMQ_POLLIN) continue;
      VIGIL_RETURN_IF_ERROR(Refused());
      return Status::Unavailable(
          fmt::format("no answer from {} within {} ms", endpoint_, timeout.count()));
    }
    zmq::message_t m;
    (void)socket_->recv(m);
    while (m.more()) (void)socket_->recv(m);
    v1::Response resp;
    if (!resp.ParseFromArray(m.data(), static_cast<int>(m.size()))) {
      return Status::DataLoss(fmt::format("{} answered with a frame that is not a Response", endpoint_));
    }
    return resp;
  } catch (const zmq::error_t& e) {
    return Status::Unavailable(fmt::format("talking to {}: {}", endpoint_, e.what()));
  }
}

namespace {

v1::Request FetchRequest(const std::string& export_id, int clip, int64_t offset, int max_bytes) {
  v1::Request q;
  auto* f = q.mutable_export_fetch();
  f->set_export_id(export_id);
  f->set_clip(clip);
  f->set_offset(offset);
  f->set_max_bytes(max_bytes);
  return q;
}

}  // namespace

Result<v1::ClipManifest> WaitForClip(Client& client, const std::string& export_id, int clip,
                                     const ClipProgressFn& progress,
                                     std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int64_t seen = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    // Parked on the server until the clip grows past `seen` (or a few seconds pass).
    VIGIL_ASSIGN_OR_RETURN(auto r, client.Call(FetchRequest(export_id, clip, seen, 0),
                                               std::chrono::seconds(30)));
    const auto& c = r.export_fetch();
    seen = std::max(seen, c.written_bytes());
    if (progress) progress(c.written_bytes(), c.covered_ns(), c.total_ns());
    if (c.done()) return c.manifest();
  }
  return Status::Unavailable(fmt::format("export {} clip {} did not finish within {} s", export_id,
                                         clip, timeout.count() / 1000));
}

Result<v1::ClipManifest> DownloadClip(Client& client, const std::string& export_id, int clip,
                                      const std::string& path, const ClipProgressFn& progress,
                                      int window, int chunk, std::chrono::milliseconds timeout) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::FromErrno(errno, "cannot create", path);
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  auto deadline = std::chrono::steady_clock::now() + timeout;
  struct Want {
    int64_t offset;
    int max;
  };
  std::map<uint64_t, Want> in_flight;
  std::map<int64_t, std::string> early;  // chunks that arrived ahead of the hash position
  int64_t next_offset = 0;   // next range to ask for
  int64_t hashed = 0;        // bytes hashed, in order
  int64_t total = -1;        // the clip's size, once it is done
  v1::ClipManifest manifest;
  Sha256 hash;
  auto ask = [&](int64_t offset, int max) -> Status {
    VIGIL_ASSIGN_OR_RETURN(uint64_t id, client.Send(FetchRequest(export_id, clip, offset, max)));
    in_flight[id] = {offset, max};
    return Status::Ok();
  };
  for (int i = 0; i < window; ++i) {
    VIGIL_RETURN_IF_ERROR(ask(next_offset, chunk));
    next_offset += chunk;
  }
  while (!(total >= 0 && hashed == total)) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return Status::Unavailable(fmt::format("export {} clip {}: download did not finish in time",
                                             export_id, clip));
    }
    VIGIL_ASSIGN_OR_RETURN(auto r, client.Receive(std::min(left, std::chrono::milliseconds(30000))));
    auto it = in_flight.find(r.id());
    if (it == in_flight.end()) continue;  // a late answer to something else
    Want want = it->second;
    in_flight.erase(it);
    if (r.has_error()) return FromError(r.error());
    const auto& c = r.export_fetch();
    const std::string& data = c.data();
    if (!data.empty()) {
      size_t done = 0;
      while (done < data.size()) {
        ssize_t n = ::pwrite(fd, data.data() + done, data.size() - done,
                             want.offset + static_cast<int64_t>(done));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return Status::FromErrno(errno, "write", path);
        done += static_cast<size_t>(n);
      }
      early[want.offset] = data;
      while (!early.empty() && early.begin()->first == hashed) {
        hash.Update(early.begin()->second.data(), early.begin()->second.size());
        hashed += static_cast<int64_t>(early.begin()->second.size());
        early.erase(early.begin());
      }
    }
    if (c.done()) {
      total = c.written_bytes();
      manifest = c.manifest();
    }
    if (progress) progress(hashed, c.covered_ns(), c.total_ns());
    int64_t got = static_cast<int64_t>(data.size());
    if (got < want.max && (total < 0 || want.offset + got < total)) {
      // A short answer (the server's wait ran out): ask again for the rest of that range.
      VIGIL_RETURN_IF_ERROR(ask(want.offset + got, want.max - static_cast<int>(got)));
    } else if (total < 0 || next_offset < total) {
      VIGIL_RETURN_IF_ERROR(ask(next_offset, chunk));
      next_offset += chunk;
    }
    if (in_flight.empty() && !(total >= 0 && hashed == total)) {
      return Status::Internal(fmt::format("export {} clip {}: download stalled at {} bytes",
                                          export_id, clip, hashed));
    }
  }
  // Answers to fetches past the end may still be on their way; they are skipped by later calls.
  if (::fsync(fd) != 0) return Status::FromErrno(errno, "fsync", path);
  std::string got = hash.FinishHex();
  if (got != manifest.sha256()) {
    return Status::DataLoss(fmt::format("{}: downloaded bytes hash to {}, the manifest says {}", path,
                                        got, manifest.sha256()));
  }
  return manifest;
}

}  // namespace vigil::api
