#include "ingest/internal/rtsp_reactor.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <future>
#include <mutex>
#include <thread>
#include <unordered_map>

#include <fmt/format.h>

#include "base/log.h"

namespace vigil::ingest::internal {
namespace {

constexpr size_t kReadBytes = 256 * 1024;
constexpr int64_t kTickNs = 100 * kNsPerMs;

struct Conn {
  uint64_t id = 0;
  int fd = -1;
  std::string where;  // host:port
  RtspSession session;
  RtspReactor::Callbacks cb;
  bool connected = false;
  bool playing = false;  // reported to the callbacks
  bool want_out = false;
  int64_t deadline_mono = 0;  // connect deadline
  int64_t timeout_ns = 0;
  std::vector<AccessUnit> units;
  DepayCounts counts;  // as last reported

  Conn(RtspUrl url) : session(std::move(url)) {}
};

struct Command {
  enum class Kind { kAdd, kClose, kStop } kind = Kind::kAdd;
  std::unique_ptr<Conn> conn;
  uint64_t id = 0;
  std::promise<void>* done = nullptr;
};

}  // namespace

struct RtspReactor::Worker {
  Clock* clock = nullptr;
  int64_t read_interval_ns = 0;
  int epfd = -1;
  int evfd = -1;
  std::thread thread;
  std::mutex mu;  // guards cmds
  std::vector<Command> cmds;
  std::atomic<int> load{0};
  std::unordered_map<uint64_t, std::unique_ptr<Conn>> conns;  // worker thread only
  std::vector<uint8_t> buf = std::vector<uint8_t>(kReadBytes);
  std::shared_ptr<spdlog::logger> log = Logger("ingest");

  void Post(Command c) {
    {
      std::lock_guard lock(mu);
      cmds.push_back(std::move(c));
    }
    uint64_t one = 1;
    ssize_t w = ::write(evfd, &one, sizeof one);
    (void)w;
  }

  void Interest(Conn& c, bool out) {
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP | (out ? EPOLLOUT : 0u);
    ev.data.u64 = c.id;
    epoll_ctl(epfd, EPOLL_CTL_MOD, c.fd, &ev);
    c.want_out = out;
  }

  void End(Conn& c, const Status& why) {
    uint64_t id = c.id;
    if (c.fd >= 0) {
      epoll_ctl(epfd, EPOLL_CTL_DEL, c.fd, nullptr);
      ::close(c.fd);
      c.fd = -1;
    }
    if (c.cb.ended) c.cb.ended(why);
    conns.erase(id);
    --load;
  }

  // Sends what the session queued; false (and the connection ended) on a socket error.
  bool Flush(Conn& c) {
    std::string& out = c.session.outbox();
    while (!out.empty()) {
      ssize_t n = ::send(c.fd, out.data(), out.size(), MSG_NOSIGNAL);
      if (n > 0) {
        out.erase(0, static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      if (n < 0 && errno == EINTR) continue;
      End(c, Status::Unavailable(fmt::format("sending to {}: {}", c.where, std::strerror(errno))));
      return false;
    }
    if (out.empty() == c.want_out) Interest(c, !out.empty());
    return true;
  }

  void OnEvent(Conn& c, uint32_t events) {
    const int64_t now = clock->MonotonicNs();
    if (!c.connected) {
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0 || (events & (EPOLLERR | EPOLLHUP))) {
        End(c, Status::Unavailable(fmt::format("connecting to {}: {}", c.where,
                                               std::strerror(err ? err : ECONNREFUSED))));
        return;
      }
      if (!(events & EPOLLOUT)) return;
      c.connected = true;
      c.session.Start(now);
      Flush(c);
      return;
    }
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
      ssize_t n = ::recv(c.fd, buf.data(), buf.size(), 0);
      if (n > 0) {
        Status st = c.session.Receive(buf.data(), static_cast<size_t>(n), now, c.units);
        if (!c.playing && (c.session.playing() || !c.units.empty())) {
          c.playing = true;
          if (c.cb.playing) c.cb.playing();
        }
        const DepayCounts counts = c.session.depay_counts();
        if (!c.units.empty() || !(counts == c.counts)) {
          c.counts = counts;
          c.cb.units(c.units, clock->WallNs(), counts);
          c.units.clear();
        }
        if (!st.ok()) {
          End(c, st);
          return;
        }
        if (!c.session.outbox().empty() && !Flush(c)) return;
      } else if (n == 0) {
        End(c, Status::Unavailable(fmt::format("{} closed the connection", c.where)));
        return;
      } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        End(c, Status::Unavailable(fmt::format("receiving from {}: {}", c.where, std::strerror(errno))));
        return;
      }
    }
    if ((events & EPOLLOUT) && c.fd >= 0) Flush(c);
  }

  void Tick() {
    const int64_t now = clock->MonotonicNs();
    std::vector<std::pair<uint64_t, Status>> dead;
    std::vector<uint64_t> flush;
    for (auto& [id, c] : conns) {
      if (!c->connected) {
        if (now > c->deadline_mono) {
          dead.emplace_back(id, Status::Unavailable(fmt::format("connecting to {}: no answer within {} s", c->where,
                                                                c->timeout_ns / kNsPerSec)));
        }
        continue;
      }
      Status st = c->session.Tick(now, c->timeout_ns);
      if (!st.ok()) {
        dead.emplace_back(id, st);
      } else if (!c->session.outbox().empty()) {
        flush.push_back(id);
      }
    }
    for (auto& [id, st] : dead) {
      auto it = conns.find(id);
      if (it != conns.end()) End(*it->second, st);
    }
    for (uint64_t id : flush) {
      auto it = conns.find(id);
      if (it != conns.end()) Flush(*it->second);  // may end it
    }
  }

  // Returns false on kStop.
  bool RunCommands() {
    uint64_t v;
    ssize_t r = ::read(evfd, &v, sizeof v);
    (void)r;
    std::vector<Command> todo;
    {
      std::lock_guard lock(mu);
      todo.swap(cmds);
    }
    bool go_on = true;
    for (Command& cmd : todo) {
      switch (cmd.kind) {
        case Command::Kind::kAdd: {
          Conn& c = *cmd.conn;
          epoll_event ev{};
          ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP;
          ev.data.u64 = c.id;
          c.want_out = true;
          uint64_t id = c.id;
          conns[id] = std::move(cmd.conn);
          if (epoll_ctl(epfd, EPOLL_CTL_ADD, c.fd, &ev) != 0) {
            End(c, Status::Internal(fmt::format("epoll_ctl: {}", std::strerror(errno))));
          }
          break;
        }
        case Command::Kind::kClose: {
          auto it = conns.find(cmd.id);
          if (it != conns.end()) {
            Conn& c = *it->second;
            if (c.connected) {
              c.session.Teardown();
              std::string& out = c.session.outbox();
              if (!out.empty()) (void)::send(c.fd, out.data(), out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
            }
            c.cb = {};  // no callback after Close
            End(c, Status::Ok());
          }
          break;
        }
        case Command::Kind::kStop:
          go_on = false;
          break;
      }
      if (cmd.done) cmd.done->set_value();
    }
    return go_on;
  }

  void Run() {
    std::vector<epoll_event> events(512);
    int64_t next_tick = clock->MonotonicNs() + kTickNs;
    for (;;) {
      const int64_t start = clock->MonotonicNs();
      int timeout_ms = static_cast<int>(std::max<int64_t>(0, next_tick - start) / kNsPerMs) + 1;
      int n = epoll_wait(epfd, events.data(), static_cast<int>(events.size()), timeout_ms);
      for (int i = 0; i < n; ++i) {
        const uint64_t id = events[i].data.u64;
        if (id == 0) {
          if (!RunCommands()) return;
          continue;
        }
        auto it = conns.find(id);
        if (it != conns.end()) OnEvent(*it->second, events[i].events);
      }
      const int64_t now = clock->MonotonicNs();
      if (now >= next_tick) {
        Tick();
        next_tick = now + kTickNs;
      }
      // Let the sockets fill: the next recv() takes a batch of packets.
      if (read_interval_ns > 0 && n > 0) {
        int64_t rest = start + read_interval_ns - clock->MonotonicNs();
        if (rest > 0) std::this_thread::sleep_for(std::chrono::nanoseconds(rest));
      }
    }
  }
};

RtspReactor::RtspReactor(Clock& clock, int threads, int64_t read_interval_ns)
    : clock_(clock), read_interval_ns_(read_interval_ns) {
  for (int i = 0; i < std::max(1, threads); ++i) {
    auto w = std::make_unique<Worker>();
    w->clock = &clock_;
    w->read_interval_ns = read_interval_ns_;
    w->epfd = epoll_create1(EPOLL_CLOEXEC);
    w->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = 0;
    epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->evfd, &ev);
    Worker* raw = w.get();
    w->thread = std::thread([raw] { raw->Run(); });
    workers_.push_back(std::move(w));
  }
}

RtspReactor::~RtspReactor() {
  for (auto& w : workers_) {
    Command stop;
    stop.kind = Command::Kind::kStop;
    w->Post(std::move(stop));
  }
  for (auto& w : workers_) {
    w->thread.join();
    for (auto& [id, c] : w->conns) {
      if (c->fd >= 0) ::close(c->fd);
    }
    ::close(w->epfd);
    ::close(w->evfd);
  }
}

Result<uint64_t> RtspReactor::Open(const RtspUrl& url, Callbacks callbacks, int64_t timeout_ns) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV | AI_NUMERICHOST;
  addrinfo* res = nullptr;
  const std::string port = std::to_string(url.port);
  int rc = getaddrinfo(url.host.c_str(), port.c_str(), &hints, &res);
  if (rc == EAI_NONAME) {
    hints.ai_flags = AI_NUMERICSERV;
    rc = getaddrinfo(url.host.c_str(), port.c_str(), &hints, &res);
  }
  if (rc != 0 || !res) {
    return Status::Unavailable(fmt::format("resolving {}: {}", url.host, gai_strerror(rc)));
  }
  int fd = ::socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    freeaddrinfo(res);
    return Status::ResourceExhausted(fmt::format("socket: {}", std::strerror(errno)));
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  rc = ::connect(fd, res->ai_addr, res->ai_addrlen);
  const int err = errno;
  freeaddrinfo(res);
  if (rc != 0 && err != EINPROGRESS) {
    ::close(fd);
    return Status::Unavailable(fmt::format("connecting to {}:{}: {}", url.host, url.port, std::strerror(err)));
  }
  // The least loaded thread.
  size_t pick = 0;
  for (size_t i = 1; i < workers_.size(); ++i) {
    if (workers_[i]->load < workers_[pick]->load) pick = i;
  }
  Worker& w = *workers_[pick];
  auto conn = std::make_unique<Conn>(url);
  {
    static std::atomic<uint64_t> counter{1};
    conn->id = (counter++ << 8) | pick;
  }
  conn->fd = fd;
  conn->where = fmt::format("{}:{}", url.host, url.port);
  conn->cb = std::move(callbacks);
  conn->timeout_ns = timeout_ns;
  conn->deadline_mono = clock_.MonotonicNs() + timeout_ns;
  const uint64_t id = conn->id;
  ++w.load;
  Command add;
  add.kind = Command::Kind::kAdd;
  add.conn = std::move(conn);
  w.Post(std::move(add));
  return id;
}

void RtspReactor::Close(uint64_t id) {
  if (id == 0) return;
  const size_t index = id & 0xff;
  if (index >= workers_.size()) return;
  std::promise<void> done;
  auto fut = done.get_future();
  Command c;
  c.kind = Command::Kind::kClose;
  c.id = id;
  c.done = &done;
  workers_[index]->Post(std::move(c));
  fut.wait();
}

}  // namespace vigil::ingest::internal
