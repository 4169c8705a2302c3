#include "proto/client.h"

#include <fmt/format.h>
#include <zmq.hpp>

#include "proto/convert.h"

namespace vigil::api {

Client::Client() = default;
Client::~Client() = default;

Result<std::unique_ptr<Client>> Client::Connect(const std::string& endpoint, std::string user) {
  std::unique_ptr<Client> c(new Client());
  c->ctx_ = std::make_unique<zmq::context_t>(1);
  c->socket_ = std::make_unique<zmq::socket_t>(*c->ctx_, zmq::socket_type::dealer);
  c->endpoint_ = endpoint;
  c->user_ = std::move(user);
  try {
    c->socket_->set(zmq::sockopt::linger, 0);
    c->socket_->connect(endpoint);
  } catch (const zmq::error_t& e) {
    return Status::InvalidArgument(fmt::format("cannot connect to {}: {}", endpoint, e.what()));
  }
  return c;
}

Result<std::string> Client::CallRaw(const std::string& bytes, std::chrono::milliseconds timeout) {
  try {
    socket_->send(zmq::buffer(bytes), zmq::send_flags::none);
    zmq::pollitem_t item{socket_->handle(), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, timeout) == 0) {
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
  const uint64_t id = next_id_++;
  request.set_id(id);
  if (request.user().empty()) request.set_user(user_);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string sent = request.SerializeAsString();
  try {
    socket_->send(zmq::buffer(sent), zmq::send_flags::none);
  } catch (const zmq::error_t& e) {
    return Status::Unavailable(fmt::format("sending to {}: {}", endpoint_, e.what()));
  }
  // Skip late answers to earlier calls that timed out.
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                      std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return Status::Unavailable(
          fmt::format("no answer from {} within {} ms", endpoint_, timeout.count()));
    }
    zmq::pollitem_t item{socket_->handle(), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, left) == 0) continue;
    zmq::message_t m;
    (void)socket_->recv(m);
    while (m.more()) (void)socket_->recv(m);
    v1::Response resp;
    if (!resp.ParseFromArray(m.data(), static_cast<int>(m.size()))) {
      return Status::DataLoss(fmt::format("{} answered with a frame that is not a Response", endpoint_));
    }
    if (resp.id() != id && resp.id() != 0) continue;
    if (resp.has_error()) return FromError(resp.error());
    return resp;
  }
}

}  // namespace vigil::api
