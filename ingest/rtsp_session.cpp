#include "ingest/rtsp_session.h"

#include <openssl/evp.h>

#include <glib.h>

#include <algorithm>
#include <cctype>
#include <charconv>

#include <fmt/format.h>

#include "base/clock.h"

namespace vigil::ingest {
namespace {

constexpr size_t kMaxMessageBytes = 64 * 1024;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string PercentDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int v = 0;
      auto [p, ec] = std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16);
      if (ec == std::errc() && p == s.data() + i + 3) {
        out.push_back(static_cast<char>(v));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

std::string Md5Hex(const std::string& s) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(s.data(), s.size(), digest, &len, EVP_md5(), nullptr);
  std::string hex;
  for (unsigned int i = 0; i < len; ++i) hex += fmt::format("{:02x}", digest[i]);
  return hex;
}

// Parameters of an authentication challenge: `key=value` or `key="value"`, comma-separated.
std::map<std::string, std::string> ChallengeParams(std::string_view s) {
  std::map<std::string, std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ',' || std::isspace(static_cast<unsigned char>(s[i])))) ++i;
    size_t eq = s.find('=', i);
    if (eq == std::string_view::npos) break;
    std::string key = Lower(Trim(s.substr(i, eq - i)));
    i = eq + 1;
    std::string value;
    if (i < s.size() && s[i] == '"') {
      ++i;
      while (i < s.size() && s[i] != '"') {
        if (s[i] == '\\' && i + 1 < s.size()) ++i;
        value.push_back(s[i++]);
      }
      ++i;
    } else {
      size_t comma = s.find(',', i);
      value = std::string(Trim(s.substr(i, comma == std::string_view::npos ? std::string_view::npos : comma - i)));
      i = comma == std::string_view::npos ? s.size() : comma;
    }
    out[key] = value;
  }
  return out;
}

int64_t ParseInt(std::string_view s, int64_t fallback) {
  s = Trim(s);
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() ? v : fallback;
}

}  // namespace

Result<RtspUrl> ParseRtspUrl(std::string_view url) {
  constexpr std::string_view kScheme = "rtsp://";
  if (url.size() < kScheme.size() || Lower(url.substr(0, kScheme.size())) != kScheme) {
    return Status::InvalidArgument(fmt::format("'{}': not an rtsp:// URL", url));
  }
  std::string_view rest = url.substr(kScheme.size());
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view("/") : rest.substr(slash);
  RtspUrl out;
  if (size_t at = authority.rfind('@'); at != std::string_view::npos) {
    std::string_view cred = authority.substr(0, at);
    authority = authority.substr(at + 1);
    size_t colon = cred.find(':');
    out.user = PercentDecode(cred.substr(0, colon));
    if (colon != std::string_view::npos) out.password = PercentDecode(cred.substr(colon + 1));
  }
  std::string_view host = authority, port;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return Status::InvalidArgument(fmt::format("'{}': unclosed [ in host", url));
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return Status::InvalidArgument(fmt::format("'{}': bad host", url));
      port = after.substr(1);
    }
  } else if (size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) return Status::InvalidArgument(fmt::format("'{}': no host", url));
  out.host = std::string(host);
  if (!port.empty()) {
    int p = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (ec != std::errc() || end != port.data() + port.size() || p <= 0 || p > 65535) {
      return Status::InvalidArgument(fmt::format("'{}': bad port '{}'", url, port));
    }
    out.port = p;
  }
  out.url = fmt::format("rtsp://{}{}", authority, path);
  return out;
}

std::string RedactUrl(std::string_view url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return std::string(url);
  const size_t start = scheme + 3;
  const size_t end = url.find('/', start);
  std::string_view authority = url.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
  const size_t at = authority.rfind('@');
  if (at == std::string_view::npos) return std::string(url);
  const size_t colon = authority.substr(0, at).find(':');
  if (colon == std::string_view::npos) return std::string(url);
  return std::string(url.substr(0, start + colon + 1)) + "***" + std::string(url.substr(start + at));
}

std::string ResolveControl(const std::string& base, const std::string& control) {
  if (control.empty() || control == "*") return base;
  std::string lower = Lower(control);
  if (lower.rfind("rtsp://", 0) == 0 || lower.rfind("rtsps://", 0) == 0) return control;
  if (!base.empty() && base.back() == '/') return base + control;
  return base + "/" + control;
}

Sdp ParseSdp(std::string_view text, const std::string& base_url) {
  Sdp sdp;
  std::string session_control;
  SdpMedia* cur = nullptr;
  std::vector<std::string> media_controls;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() < 2 || line[1] != '=') continue;
    const char kind = line[0];
    std::string_view value = line.substr(2);
    if (kind == 'm') {
      SdpMedia m;
      size_t sp = value.find(' ');
      m.media = std::string(value.substr(0, sp));
      // m=<media> <port> <proto> <fmt> ...
      std::string_view rest = sp == std::string_view::npos ? std::string_view() : value.substr(sp + 1);
      for (int skip = 0; skip < 2 && !rest.empty(); ++skip) {
        size_t s2 = rest.find(' ');
        rest = s2 == std::string_view::npos ? std::string_view() : rest.substr(s2 + 1);
      }
      m.payload_type = static_cast<int>(ParseInt(rest.substr(0, rest.find(' ')), -1));
      sdp.media.push_back(std::move(m));
      cur = &sdp.media.back();
      media_controls.emplace_back();
      continue;
    }
    if (kind != 'a') continue;
    size_t colon = value.find(':');
    std::string_view attr = value.substr(0, colon);
    std::string_view arg = colon == std::string_view::npos ? std::string_view() : value.substr(colon + 1);
    if (attr == "control") {
      if (cur) {
        media_controls.back() = std::string(Trim(arg));
      } else {
        session_control = std::string(Trim(arg));
      }
    } else if (cur && attr == "rtpmap") {
      size_t sp = arg.find(' ');
      if (sp == std::string_view::npos || ParseInt(arg.substr(0, sp), -2) != cur->payload_type) continue;
      std::string_view enc = Trim(arg.substr(sp + 1));
      size_t sl = enc.find('/');
      cur->encoding = std::string(enc.substr(0, sl));
      for (char& c : cur->encoding) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      if (sl != std::string_view::npos) {
        std::string_view rate = enc.substr(sl + 1);
        const size_t sl2 = rate.find('/');
        cur->clock_rate = static_cast<int>(ParseInt(rate.substr(0, sl2), 0));
        if (sl2 != std::string_view::npos) cur->channels = static_cast<int>(ParseInt(rate.substr(sl2 + 1), 0));
      }
    } else if (cur && attr == "fmtp") {
      size_t sp = arg.find(' ');
      if (sp == std::string_view::npos || ParseInt(arg.substr(0, sp), -2) != cur->payload_type) continue;
      std::string_view params = arg.substr(sp + 1);
      while (!params.empty()) {
        size_t semi = params.find(';');
        std::string_view p = Trim(params.substr(0, semi));
        params = semi == std::string_view::npos ? std::string_view() : params.substr(semi + 1);
        size_t eq = p.find('=');
        if (eq == std::string_view::npos) continue;
        cur->fmtp[Lower(Trim(p.substr(0, eq)))] = std::string(Trim(p.substr(eq + 1)));
      }
    }
  }
  sdp.control = ResolveControl(base_url, session_control);
  for (size_t i = 0; i < sdp.media.size(); ++i) {
    sdp.media[i].control = ResolveControl(session_control.empty() || session_control == "*"
                                              ? base_url
                                              : sdp.control,
                                          media_controls[i]);
  }
  return sdp;
}

Result<std::string> Authorization(const std::string& challenge, const std::string& user,
                                  const std::string& password, const std::string& method,
                                  const std::string& uri, const std::string& cnonce, int nonce_count) {
  std::string_view c = Trim(challenge);
  size_t sp = c.find(' ');
  std::string scheme = Lower(c.substr(0, sp));
  std::string_view params = sp == std::string_view::npos ? std::string_view() : c.substr(sp + 1);
  if (scheme == "basic") {
    std::string cred = user + ":" + password;
    gchar* b64 = g_base64_encode(reinterpret_cast<const guchar*>(cred.data()), cred.size());
    std::string out = std::string("Basic ") + b64;
    g_free(b64);
    return out;
  }
  if (scheme != "digest") {
    return Status::FailedPrecondition(fmt::format("unsupported authentication scheme '{}'", c.substr(0, sp)));
  }
  auto p = ChallengeParams(params);
  const std::string& realm = p["realm"];
  const std::string& nonce = p["nonce"];
  if (auto it = p.find("algorithm"); it != p.end() && Lower(it->second) != "md5") {
    return Status::FailedPrecondition(fmt::format("unsupported digest algorithm '{}'", it->second));
  }
  bool qop_auth = false;
  if (auto it = p.find("qop"); it != p.end()) {
    std::string qops = Lower(it->second);
    for (size_t i = 0; i <= qops.size();) {
      size_t comma = qops.find(',', i);
      if (Trim(std::string_view(qops).substr(i, comma == std::string::npos ? std::string::npos : comma - i)) == "auth") {
        qop_auth = true;
      }
      if (comma == std::string::npos) break;
      i = comma + 1;
    }
    if (!qop_auth) return Status::FailedPrecondition(fmt::format("unsupported digest qop '{}'", it->second));
  }
  const std::string ha1 = Md5Hex(user + ":" + realm + ":" + password);
  const std::string ha2 = Md5Hex(method + ":" + uri);
  std::string out = fmt::format("Digest username=\"{}\", realm=\"{}\", nonce=\"{}\", uri=\"{}\"", user, realm,
                                nonce, uri);
  if (qop_auth) {
    std::string nc = fmt::format("{:08x}", nonce_count);
    std::string response = Md5Hex(fmt::format("{}:{}:{}:{}:auth:{}", ha1, nonce, nc, cnonce, ha2));
    out += fmt::format(", qop=auth, nc={}, cnonce=\"{}\", response=\"{}\"", nc, cnonce, response);
  } else {
    out += fmt::format(", response=\"{}\"", Md5Hex(ha1 + ":" + nonce + ":" + ha2));
  }
  if (auto it = p.find("opaque"); it != p.end()) out += fmt::format(", opaque=\"{}\"", it->second);
  if (p.count("algorithm")) out += ", algorithm=MD5";
  return out;
}

std::string BasicAuthRefused(std::string_view what) {
  return fmt::format(
      "{}: 401 Unauthorized: the camera offers only Basic authentication, which would send the "
      "password in clear over plain RTSP: enable Digest on the camera, use rtsps://, or set "
      "allow_basic_auth = true for this camera",
      what);
}

RtspSession::RtspSession(RtspUrl url, std::string user_agent)
    : url_(std::move(url)), user_agent_(std::move(user_agent)) {}

const std::string* RtspSession::Response::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return &v;
  }
  return nullptr;
}

void RtspSession::Start(int64_t now_mono_ns) {
  state_ = State::kDescribe;
  base_url_ = url_.url;
  pending_since_ = now_mono_ns;
  Send("DESCRIBE", url_.url, "Accept: application/sdp\r\n");
}

void RtspSession::Send(const std::string& method, const std::string& uri, const std::string& extra) {
  pending_method_ = method;
  pending_uri_ = uri;
  pending_extra_ = extra;
  awaiting_ = true;
  std::string req = fmt::format("{} {} RTSP/1.0\r\nCSeq: {}\r\nUser-Agent: {}\r\n", method, uri, ++cseq_,
                                user_agent_);
  if (!session_id_.empty()) req += fmt::format("Session: {}\r\n", session_id_);
  if (!challenge_.empty()) {
    auto auth = Authorization(challenge_, url_.user, url_.password, method, uri,
                              fmt::format("{:08x}{:08x}", static_cast<uint32_t>(cseq_ * 2654435761u),
                                          static_cast<uint32_t>(g_random_int())),
                              ++nonce_count_);
    if (auth.ok()) req += fmt::format("Authorization: {}\r\n", auth.value());
  }
  req += extra;
  req += "\r\n";
  outbox_ += req;
}

Result<size_t> RtspSession::ParseMessage(std::string_view b, size_t at, Response& r, bool& is_request) {
  size_t end = b.find("\r\n\r\n", at);
  size_t head_len = 4;
  if (end == std::string::npos) {
    end = b.find("\n\n", at);  // bare LF line ends (seen in cheap cameras)
    head_len = 2;
  }
  if (end == std::string::npos) {
    if (b.size() - at > kMaxMessageBytes) {
      return Status::DataLoss(fmt::format("RTSP message header longer than {} bytes", kMaxMessageBytes));
    }
    return size_t{0};
  }
  std::string_view head(b.data() + at, end - at);
  size_t eol = head.find('\n');
  std::string_view first = Trim(head.substr(0, eol));
  is_request = first.rfind("RTSP/", 0) != 0;
  if (!is_request) {
    // RTSP/1.0 200 OK
    size_t sp = first.find(' ');
    if (sp == std::string_view::npos) return Status::DataLoss(fmt::format("bad RTSP status line '{}'", first));
    std::string_view rest = first.substr(sp + 1);
    r.status = static_cast<int>(ParseInt(rest.substr(0, 3), 0));
    r.reason = rest.size() > 4 ? std::string(rest.substr(4)) : "";
    if (r.status < 100) return Status::DataLoss(fmt::format("bad RTSP status line '{}'", first));
  }
  std::string_view lines = eol == std::string_view::npos ? std::string_view() : head.substr(eol + 1);
  while (!lines.empty()) {
    size_t nl = lines.find('\n');
    std::string_view line = Trim(lines.substr(0, nl));
    lines = nl == std::string_view::npos ? std::string_view() : lines.substr(nl + 1);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    r.headers.emplace_back(Lower(Trim(line.substr(0, colon))), std::string(Trim(line.substr(colon + 1))));
  }
  size_t body_len = 0;
  if (const std::string* cl = r.Header("content-length")) {
    int64_t n = ParseInt(*cl, -1);
    if (n < 0 || n > static_cast<int64_t>(kMaxMessageBytes)) {
      return Status::DataLoss(fmt::format("bad RTSP Content-Length '{}'", *cl));
    }
    body_len = static_cast<size_t>(n);
  }
  const size_t body_at = end + head_len;
  if (b.size() < body_at + body_len) return size_t{0};
  r.body = std::string(b.substr(body_at, body_len));
  return body_at + body_len - at;
}

Status RtspSession::Receive(const uint8_t* data, size_t size, int64_t now_mono_ns,
                            std::vector<AccessUnit>& out) {
  // Bytes are parsed where they lie; only an unfinished message is kept (in inbox_) for the next
  // call. An RTP packet cut by the previous read is completed from the front of this one.
  if (!inbox_.empty() && inbox_[0] == '$') {
    size_t take = 0;
    if (inbox_.size() < 4) {
      take = std::min(size, 4 - inbox_.size());
      inbox_.append(reinterpret_cast<const char*>(data), take);
    }
    if (inbox_.size() >= 4) {
      const size_t total = 4 + (static_cast<size_t>(static_cast<uint8_t>(inbox_[2])) << 8 |
                                static_cast<uint8_t>(inbox_[3]));
      const size_t more = std::min(size - take, total - inbox_.size());
      inbox_.append(reinterpret_cast<const char*>(data + take), more);
      take += more;
      if (inbox_.size() == total) {
        std::string packet;
        packet.swap(inbox_);
        size_t used = 0;
        VIGIL_RETURN_IF_ERROR(Parse(packet, now_mono_ns, out, used));
      }
    }
    data += take;
    size -= take;
    if (size == 0) return Status::Ok();
  }
  if (!inbox_.empty()) {
    // An RTSP message in pieces (rare: the set-up answers): gather it.
    inbox_.append(reinterpret_cast<const char*>(data), size);
    std::string buf;
    buf.swap(inbox_);
    size_t used = 0;
    Status st = Parse(buf, now_mono_ns, out, used);
    inbox_.append(buf, used, std::string::npos);
    return st;
  }
  size_t used = 0;
  Status st = Parse(std::string_view(reinterpret_cast<const char*>(data), size), now_mono_ns, out, used);
  inbox_.append(reinterpret_cast<const char*>(data) + used, size - used);
  return st;
}

Status RtspSession::Parse(std::string_view buf, int64_t now_mono_ns, std::vector<AccessUnit>& out,
                          size_t& pos) {
  pos = 0;
  while (pos < buf.size()) {
    const size_t avail = buf.size() - pos;
    if (buf[pos] == '$') {
      if (avail < 4) break;
      const auto* p = reinterpret_cast<const uint8_t*>(buf.data() + pos);
      const size_t len = static_cast<size_t>(p[2] << 8 | p[3]);
      if (avail < 4 + len) break;
      pos += 4 + len;
      if (depay_ && p[1] == rtp_channel_ && (state_ == State::kPlaying || state_ == State::kPlay)) {
        VIGIL_RETURN_IF_ERROR(depay_->Push(p + 4, len, out).WithContext("RTP"));
      } else if (audio_depay_ && p[1] == audio_channel_ && (state_ == State::kPlaying || state_ == State::kPlay)) {
        // Audio that cannot be parsed is dropped, never the connection (the video goes on).
        if (audio_depay_->Push(p + 4, len, audio_frames_).ok()) {
          AudioUnits(out);
        } else {
          ++audio_unparsed_;
        }
        audio_frames_.clear();
      }
      continue;
    }
    Response r;
    bool is_request = false;
    VIGIL_ASSIGN_OR_RETURN(size_t used, ParseMessage(buf, pos, r, is_request));
    if (used == 0) break;
    pos += used;
    if (is_request) {
      // A request from the camera (ANNOUNCE, GET_PARAMETER, ...): answered, not acted on. A camera
      // that sends requests faster than it reads the answers is cut off: the answers waiting for it
      // are bounded, not vigil's memory.
      const std::string* cseq = r.Header("cseq");
      std::string_view echoed = cseq ? std::string_view(*cseq).substr(0, 32) : "0";
      if (outbox_.size() > kMaxOutboxBytes) {
        return Status::ResourceExhausted(fmt::format(
            "the camera sent requests faster than it read the answers ({} bytes of answers waiting): "
            "disconnected",
            outbox_.size()));
      }
      outbox_ += fmt::format("RTSP/1.0 501 Not Implemented\r\nCSeq: {}\r\n\r\n", echoed);
      continue;
    }
    VIGIL_RETURN_IF_ERROR(OnResponse(r, now_mono_ns));
  }
  return Status::Ok();
}

Status RtspSession::OnResponse(const Response& r, int64_t now_mono_ns) {
  if (!awaiting_) return Status::Ok();  // a keep-alive's answer
  const std::string what = fmt::format("RTSP {} {}", pending_method_, pending_uri_);
  if (state_ == State::kPlaying) {
    // Keep-alive answers: any status is fine (some cameras refuse OPTIONS with a session).
    awaiting_ = false;
    return Status::Ok();
  }
  if (r.status == 401) {
    std::string chosen;
    for (const auto& [k, v] : r.headers) {
      if (k != "www-authenticate") continue;
      if (Lower(v).rfind("digest", 0) == 0 || chosen.empty()) chosen = v;
    }
    if (url_.user.empty()) {
      return Status::FailedPrecondition(fmt::format("{}: 401 Unauthorized: the camera requires a user and "
                                                    "password (rtsp://user:password@host/...)", what));
    }
    const bool stale = Lower(chosen).find("stale=true") != std::string::npos;
    if (chosen.empty() || (auth_tried_ && !stale)) {
      return Status::FailedPrecondition(fmt::format("{}: 401 Unauthorized: the camera refused user '{}'", what,
                                                    url_.user));
    }
    if (Lower(Trim(chosen)).rfind("basic", 0) == 0 && !url_.allow_basic) {
      return Status::FailedPrecondition(BasicAuthRefused(what));
    }
    auto check = Authorization(chosen, url_.user, url_.password, pending_method_, pending_uri_, "0", 1);
    if (!check.ok()) return check.error().WithContext(what);
    auth_tried_ = true;
    challenge_ = chosen;
    nonce_count_ = 0;
    pending_since_ = now_mono_ns;
    std::string method = pending_method_, uri = pending_uri_, extra = pending_extra_;
    Send(method, uri, extra);
    return Status::Ok();
  }
  if ((r.status < 200 || r.status >= 300) && state_ == State::kSetupAudio) {
    // The camera would not set up its audio: the video is recorded without it.
    audio_.reset();
    audio_depay_.reset();
    awaiting_ = false;
    state_ = State::kPlay;
    pending_since_ = now_mono_ns;
    Send("PLAY", play_uri_, "Range: npt=0.000-\r\n");
    return Status::Ok();
  }
  if (r.status < 200 || r.status >= 300) {
    std::string text = fmt::format("{}: {} {}", what, r.status, r.reason);
    if (r.status == 404) return Status::NotFound(text);
    if (r.status == 461) return Status::FailedPrecondition(text + " (the camera refused RTP over TCP)");
    return Status::Unavailable(text);
  }
  awaiting_ = false;
  switch (state_) {
    case State::kDescribe: {
      if (const std::string* cb = r.Header("content-base")) {
        base_url_ = *cb;
      } else if (const std::string* cl = r.Header("content-location")) {
        base_url_ = *cl;
      }
      Sdp sdp = ParseSdp(r.body, base_url_);
      std::string seen;
      for (const SdpMedia& m : sdp.media) {
        if (m.media != "video") continue;
        if (m.encoding == "H264" || m.encoding == "H265" || m.encoding == "HEVC") {
          video_ = m;
          break;
        }
        if (seen.empty()) seen = m.encoding.empty() ? fmt::format("payload type {}", m.payload_type) : m.encoding;
      }
      if (!video_) {
        if (seen.empty()) return Status::FailedPrecondition(fmt::format("{}: no video stream in the SDP", what));
        return Status::FailedPrecondition(
            fmt::format("unsupported codec {}: vigil records H.264 and H.265", seen));
      }
      const VideoCodec codec = video_->encoding == "H264" ? VideoCodec::kH264 : VideoCodec::kH265;
      VIGIL_ASSIGN_OR_RETURN(ParameterSets sets, SpropParameterSets(codec, video_->fmtp));
      depay_.emplace(codec, video_->clock_rate, sets);
      // The first audio stream vigil can store (AAC, G.711); other audio is left alone.
      for (const SdpMedia& m : sdp.media) {
        if (m.media != "audio") continue;
        auto af = AudioFormatOf(m.encoding, m.payload_type, m.clock_rate, m.channels, m.fmtp);
        if (!af.ok()) continue;
        audio_ = m;
        audio_depay_.emplace(*af);
        depay_->SetAudio(*af);
        break;
      }
      play_uri_ = sdp.control;
      state_ = State::kSetup;
      pending_since_ = now_mono_ns;
      Send("SETUP", video_->control, "Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n");
      return Status::Ok();
    }
    case State::kSetup: {
      const std::string* session = r.Header("session");
      if (!session) return Status::DataLoss(fmt::format("{}: no Session header in the answer", what));
      std::string_view s = *session;
      size_t semi = s.find(';');
      session_id_ = std::string(Trim(s.substr(0, semi)));
      if (semi != std::string_view::npos) {
        std::string params = Lower(s.substr(semi + 1));
        if (size_t t = params.find("timeout="); t != std::string::npos) {
          int64_t secs = ParseInt(std::string_view(params).substr(t + 8, params.find(';', t) - t - 8), 60);
          if (secs > 0) timeout_ns_ = secs * kNsPerSec;
        }
      }
      if (const std::string* tr = r.Header("transport")) {
        std::string t = Lower(*tr);
        if (size_t i = t.find("interleaved="); i != std::string::npos) {
          rtp_channel_ = static_cast<int>(ParseInt(std::string_view(t).substr(i + 12, t.find_first_of("-;", i + 12) - i - 12), 0));
        }
      }
      pending_since_ = now_mono_ns;
      if (audio_) {
        state_ = State::kSetupAudio;
        Send("SETUP", audio_->control,
             fmt::format("Transport: RTP/AVP/TCP;unicast;interleaved={}-{}\r\n", rtp_channel_ + 2, rtp_channel_ + 3));
        return Status::Ok();
      }
      state_ = State::kPlay;
      Send("PLAY", play_uri_, "Range: npt=0.000-\r\n");
      return Status::Ok();
    }
    case State::kSetupAudio: {
      audio_channel_ = rtp_channel_ + 2;
      if (const std::string* tr = r.Header("transport")) {
        std::string t = Lower(*tr);
        if (size_t i = t.find("interleaved="); i != std::string::npos) {
          audio_channel_ = static_cast<int>(
              ParseInt(std::string_view(t).substr(i + 12, t.find_first_of("-;", i + 12) - i - 12), 0));
        }
      }
      state_ = State::kPlay;
      pending_since_ = now_mono_ns;
      Send("PLAY", play_uri_, "Range: npt=0.000-\r\n");
      return Status::Ok();
    }
    case State::kPlay:
      state_ = State::kPlaying;
      last_keepalive_ = now_mono_ns;
      if (const std::string* info = r.Header("rtp-info")) {
        // "url=U1;seq=S;rtptime=T,url=U2;...": each stream's RTP time at the same instant.
        std::string_view all = *info;
        while (!all.empty()) {
          const size_t comma = all.find(',');
          std::string_view entry = all.substr(0, comma);
          all = comma == std::string_view::npos ? std::string_view() : all.substr(comma + 1);
          std::string url;
          std::optional<uint32_t> rtptime;
          while (!entry.empty()) {
            const size_t semi = entry.find(';');
            std::string_view kv = Trim(entry.substr(0, semi));
            entry = semi == std::string_view::npos ? std::string_view() : entry.substr(semi + 1);
            if (kv.substr(0, 4) == "url=") url = ResolveControl(base_url_, std::string(kv.substr(4)));
            if (kv.substr(0, 8) == "rtptime=") rtptime = static_cast<uint32_t>(ParseInt(kv.substr(8), 0));
          }
          if (!rtptime) continue;
          if (video_ && url == video_->control) video_rtptime_ = rtptime;
          if (audio_ && url == audio_->control) audio_rtptime_ = rtptime;
        }
      }
      return Status::Ok();
    default:
      return Status::Ok();
  }
}

void RtspSession::AudioUnits(std::vector<AccessUnit>& out) {
  // Audio time on the video's clock: both count from their first packet; RTP-Info says where each
  // stream's clock stood at the same instant. Without it the two first packets are taken as
  // simultaneous (they are within the camera's packetization delay).
  const auto vfirst = depay_->first_rtp_ts();
  const auto afirst = audio_depay_->first_rtp_ts();
  if (!vfirst || !afirst) {  // before the first video packet: before any segment
    audio_before_video_ += static_cast<int64_t>(audio_frames_.size());
    return;
  }
  int64_t offset = 0;
  if (video_rtptime_ && audio_rtptime_) {
    const int64_t a = static_cast<int32_t>(*afirst - *audio_rtptime_);
    const int64_t v = static_cast<int32_t>(*vfirst - *video_rtptime_);
    offset = a * kNsPerSec / audio_depay_->format().sample_rate - v * kNsPerSec / video_->clock_rate;
  }
  for (AudioFrame& f : audio_frames_) {
    AccessUnit au;
    au.audio = true;
    au.data = std::move(f.data);
    au.media_ns = f.media_ns + offset;
    au.duration_ns = f.duration_ns;
    au.format = nullptr;
    out.push_back(std::move(au));
  }
}

Status RtspSession::Tick(int64_t now_mono_ns, int64_t response_timeout_ns) {
  if (state_ == State::kPlaying) {
    if (now_mono_ns - last_keepalive_ >= timeout_ns_ / 2) {
      last_keepalive_ = now_mono_ns;
      Send("OPTIONS", play_uri_, "");
      awaiting_ = false;  // answers to keep-alives are not waited for
    }
    return Status::Ok();
  }
  if (awaiting_ && now_mono_ns - pending_since_ > response_timeout_ns) {
    return Status::Unavailable(fmt::format("RTSP {} {}: no answer within {} s", pending_method_,
                                                pending_uri_, response_timeout_ns / kNsPerSec));
  }
  return Status::Ok();
}

void RtspSession::Teardown() {
  if (state_ == State::kPlaying || state_ == State::kPlay) Send("TEARDOWN", play_uri_, "");
  state_ = State::kDone;
}

}  // namespace vigil::ingest
