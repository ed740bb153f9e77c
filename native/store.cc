// The store server declared in store.h: one thread polls every connection without
// blocking and serves each complete query; a partial query changes nothing.
#include "store.h"

#include "compat.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <map>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <vector>

namespace flatdist {

namespace {

using Bytes = std::vector<uint8_t>;

// Query bytes of the TCPStore protocol the clients of this libtorch speak: 2.x's (as in 2.6's
// TCPStoreBackend.hpp; a client validates and pings on connecting, and gloo uses append and the
// multi-key queries), or 1.13's.
#if FLATDIST_TORCH_AT_LEAST(2, 4)
enum Query : uint8_t {
  VALIDATE = 0, SET, COMPARE_SET, GET, ADD, CHECK, WAIT, GETNUMKEYS, DELETE_KEY, APPEND, MULTI_GET, MULTI_SET, CANCEL_WAIT, PING
};
constexpr uint32_t kValidationMagic = 0x3C85F7CE;
#else
enum Query : uint8_t { SET = 0, COMPARE_SET = 1, GET = 2, ADD = 3, CHECK = 4, WAIT = 5, GETNUMKEYS = 6, WATCH_KEY = 7, DELETE_KEY = 8 };
#endif
constexpr uint8_t kReady = 0, kNotReady = 1, kStopWaiting = 0, kWaitCanceled = 1;

// Bounds on what one peer may make the server hold.
constexpr uint64_t kMaxKey = 4096;
constexpr uint64_t kMaxValue = 4u << 20;
constexpr uint64_t kMaxKeysPerQuery = 4096;
constexpr size_t kMaxConnections = 512;
constexpr size_t kMaxStoredBytes = 256u << 20;
constexpr size_t kMaxPendingReply = 64u << 20;  // a peer that asks without reading the answers is dropped

struct ProtocolError {};
struct Incomplete {};

// Reads one query from the front of a buffer; throws Incomplete when more bytes
// are needed and ProtocolError when the bytes cannot be a valid query.
class Reader {
 public:
  explicit Reader(const Bytes& b) : b_(b) {}
  size_t consumed() const { return pos_; }
  uint8_t u8() {
    need(1);
    return b_[pos_++];
  }
  uint32_t u32() {
    need(4);
    uint32_t v;
    std::memcpy(&v, b_.data() + pos_, 4);
    pos_ += 4;
    return v;
  }
  uint64_t u64() {
    need(8);
    uint64_t v;
    std::memcpy(&v, b_.data() + pos_, 8);
    pos_ += 8;
    return v;
  }
  Bytes bytes(uint64_t limit) {
    uint64_t n = u64();
    if (n > limit) throw ProtocolError{};
    need(n);
    Bytes out(b_.begin() + pos_, b_.begin() + pos_ + n);
    pos_ += n;
    return out;
  }
  std::string key() {
    Bytes k = bytes(kMaxKey);
    return std::string(k.begin(), k.end());
  }
  std::vector<std::string> keys() {
    uint64_t n = u64();
    if (n > kMaxKeysPerQuery) throw ProtocolError{};
    std::vector<std::string> out;
    for (uint64_t i = 0; i < n; ++i) out.push_back(key());
    return out;
  }

 private:
  void need(uint64_t n) const {
    if (b_.size() - pos_ < n) throw Incomplete{};
  }
  const Bytes& b_;
  size_t pos_ = 0;
};

}  // namespace

class StoreServer::Impl {
 public:
  Impl(const std::string& host, uint16_t port, std::string alivePrefix, std::string gonePrefix)
      : alivePrefix_(std::move(alivePrefix)), gonePrefix_(std::move(gonePrefix)) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    addrinfo* res = nullptr;
    std::string service = std::to_string(port);
    int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &res);
    if (rc != 0) throw std::runtime_error("store: cannot resolve host '" + host + "': " + gai_strerror(rc));
    std::string lastError = "no address";
    for (addrinfo* a = res; a != nullptr && listenFd_ < 0; a = a->ai_next) {
      int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
      if (fd < 0) continue;
      int one = 1;
      setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
      if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 && listen(fd, 128) == 0) {
        listenFd_ = fd;
      } else {
        lastError = std::strerror(errno);
        close(fd);
      }
    }
    freeaddrinfo(res);
    if (listenFd_ < 0) throw std::runtime_error("store: cannot listen on " + host + ":" + service + ": " + lastError);
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    getsockname(listenFd_, reinterpret_cast<sockaddr*>(&ss), &len);
    port_ = ntohs(ss.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
    if (pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) {
      close(listenFd_);
      throw std::runtime_error("store: cannot create a wake-up pipe");
    }
    thread_ = std::thread([this] { run(); });
  }

  ~Impl() { stop(); }

  uint16_t port() const { return port_; }

  void stop() {
    if (!thread_.joinable()) return;
    stopping_ = true;
    uint8_t b = 1;
    (void)!write(wake_[1], &b, 1);
    thread_.join();
    for (auto& [id, c] : conns_) close(c.fd);
    conns_.clear();
    close(listenFd_);
    close(wake_[0]);
    close(wake_[1]);
  }

 private:
  struct Conn {
    int fd;
    Bytes in, out;
    std::string rank;  // set once the peer announced itself through alivePrefix_
  };

  void run() {
    while (!stopping_) {
      std::vector<pollfd> fds{{wake_[0], POLLIN, 0}, {listenFd_, POLLIN, 0}};
      std::vector<uint64_t> ids;
      for (auto& [id, c] : conns_) {
        fds.push_back({c.fd, static_cast<short>(POLLIN | (c.out.empty() ? 0 : POLLOUT)), 0});
        ids.push_back(id);
      }
      if (poll(fds.data(), fds.size(), -1) < 0) continue;
      if (fds[1].revents & POLLIN) accept_();
      for (size_t i = 0; i < ids.size(); ++i) {
        short ev = fds[i + 2].revents;
        if (ev == 0) continue;
        auto it = conns_.find(ids[i]);
        if (it == conns_.end()) continue;
        bool ok = true;
        if (ev & POLLIN) ok = readFrom(ids[i]);
        if (ok && (ev & POLLOUT)) ok = flush(conns_.at(ids[i]));
        if (ok && (ev & (POLLERR | POLLHUP)) && !(ev & POLLIN)) ok = false;
        if (!ok) drop(ids[i]);
      }
    }
  }

  void accept_() {
    for (;;) {
      int fd = accept4(listenFd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;
      if (conns_.size() >= kMaxConnections) {
        close(fd);
        continue;
      }
      conns_.emplace(nextId_++, Conn{fd, {}, {}, {}});
    }
  }

  // Reads what is available and serves every complete query; false drops the peer. A peer
  // that sends its last queries and closes (a process that sets a key and exits) has them
  // served before it is dropped: the end of the stream only ends the reading.
  bool readFrom(uint64_t id) {
    uint8_t buf[65536];
    bool closed = false;
    for (;;) {
      ssize_t n = recv(conns_.at(id).fd, buf, sizeof buf, 0);
      if (n == 0) {
        closed = true;
        break;
      }
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        if (errno == EINTR) continue;
        return false;
      }
      Bytes& in = conns_.at(id).in;
      in.insert(in.end(), buf, buf + n);
      if (in.size() > kMaxValue * 2 + kMaxKey + 64) return false;
    }
    for (;;) {
      Conn& c = conns_.at(id);
      if (c.in.empty()) return !closed && flush(c);
      size_t used;
      try {
        Reader r(c.in);
        serve(id, r);
        used = r.consumed();
      } catch (const Incomplete&) {
        return !closed && flush(c);
      } catch (const ProtocolError&) {
        return false;
      }
      Conn& after = conns_.at(id);
      after.in.erase(after.in.begin(), after.in.begin() + static_cast<std::ptrdiff_t>(used));
      if (after.out.size() > kMaxPendingReply) return false;
    }
  }

  // Parses one whole query before changing any state, so a partial query has no effect.
  void serve(uint64_t id, Reader& r) {
    switch (r.u8()) {
      case SET: {
        std::string k = r.key();
        Bytes v = r.bytes(kMaxValue);
        if (k.rfind(alivePrefix_, 0) == 0) conns_.at(id).rank = k.substr(alivePrefix_.size());
        put(k, std::move(v));
        return;
      }
      case COMPARE_SET: {
        std::string k = r.key();
        Bytes expected = r.bytes(kMaxValue), desired = r.bytes(kMaxValue);
        auto it = kv_.find(k);
        if (it == kv_.end()) {
          if (expected.empty()) {
            put(k, desired);
            reply(id, vec(desired));
          } else {
            reply(id, vec(expected));
          }
        } else {
          if (it->second == expected) put(k, std::move(desired));
          reply(id, vec(kv_.at(k)));
        }
        return;
      }
      case GET: {
        auto it = kv_.find(r.key());
        if (it == kv_.end()) throw ProtocolError{};  // clients wait for a key before getting it
        reply(id, vec(it->second));
        return;
      }
      case ADD: {
        std::string k = r.key();
        int64_t delta = static_cast<int64_t>(r.u64());
        int64_t value = delta;
        auto it = kv_.find(k);
        if (it != kv_.end()) {
          try {
            value += std::stoll(std::string(it->second.begin(), it->second.end()));
          } catch (const std::exception&) {
            throw ProtocolError{};
          }
        }
        std::string s = std::to_string(value);
        put(k, Bytes(s.begin(), s.end()));
        reply(id, i64(value));
        return;
      }
      case CHECK: {
        bool ready = true;
        for (const auto& k : r.keys()) ready = ready && kv_.count(k) > 0;
        reply(id, Bytes{ready ? kReady : kNotReady});
        return;
      }
      case WAIT: {
        int missing = 0;
        for (const auto& k : r.keys()) {
          if (kv_.count(k) > 0) continue;
          waiting_[k].push_back(id);
          ++missing;
        }
        if (missing == 0) reply(id, Bytes{kStopWaiting});
        else awaited_[id] = missing;
        return;
      }
      case GETNUMKEYS:
        reply(id, i64(static_cast<int64_t>(kv_.size())));
        return;
      case DELETE_KEY: {
        std::string k = r.key();
        auto it = kv_.find(k);
        int64_t erased = 0;
        if (it != kv_.end()) {
          stored_ -= it->second.size();
          kv_.erase(it);
          erased = 1;
        }
        reply(id, i64(erased));
        return;
      }
#if FLATDIST_TORCH_AT_LEAST(2, 4)
      case VALIDATE:
        if (r.u32() != kValidationMagic) throw ProtocolError{};
        return;
      case PING: {
        uint32_t nonce = r.u32();
        Bytes b(4);
        std::memcpy(b.data(), &nonce, 4);
        reply(id, b);
        return;
      }
      case APPEND: {
        std::string k = r.key();
        Bytes v = r.bytes(kMaxValue);
        auto it = kv_.find(k);
        Bytes joined = it == kv_.end() ? Bytes{} : it->second;
        if (joined.size() + v.size() > kMaxValue) throw ProtocolError{};
        joined.insert(joined.end(), v.begin(), v.end());
        put(k, std::move(joined));
        return;
      }
      case MULTI_GET: {
        Bytes out;
        for (const auto& k : r.keys()) {
          auto it = kv_.find(k);
          if (it == kv_.end()) throw ProtocolError{};  // clients wait for the keys before getting them
          Bytes v = vec(it->second);
          out.insert(out.end(), v.begin(), v.end());
        }
        reply(id, out);
        return;
      }
      case MULTI_SET: {
        uint64_t n = r.u64();
        if (n > kMaxKeysPerQuery) throw ProtocolError{};
        std::vector<std::pair<std::string, Bytes>> given;
        for (uint64_t i = 0; i < n; ++i) {
          std::string k = r.key();
          given.emplace_back(std::move(k), r.bytes(kMaxValue));
        }
        for (auto& [k, v] : given) put(k, std::move(v));
        return;
      }
      case CANCEL_WAIT: {
        // A client whose wait timed out: it waits no more, and is told so.
        for (auto& [k, ids] : waiting_) ids.erase(std::remove(ids.begin(), ids.end(), id), ids.end());
        awaited_.erase(id);
        reply(id, Bytes{kWaitCanceled});
        return;
      }
#endif
      default:  // 1.13's WATCH_KEY is not served: nothing in a flatdist group uses it
        throw ProtocolError{};
    }
  }

  void put(const std::string& k, Bytes v) {
    auto it = kv_.find(k);
    size_t old = it == kv_.end() ? 0 : it->second.size();
    if (stored_ - old + v.size() > kMaxStoredBytes) throw ProtocolError{};
    stored_ = stored_ - old + v.size();
    kv_[k] = std::move(v);
    auto w = waiting_.find(k);
    if (w == waiting_.end()) return;
    std::vector<uint64_t> ids = std::move(w->second);
    waiting_.erase(w);
    for (uint64_t id : ids) {
      auto a = awaited_.find(id);
      if (a == awaited_.end() || --a->second > 0) continue;
      awaited_.erase(a);
      reply(id, Bytes{kStopWaiting});
    }
  }

  void reply(uint64_t id, const Bytes& b) {
    auto it = conns_.find(id);
    if (it != conns_.end()) it->second.out.insert(it->second.out.end(), b.begin(), b.end());
  }

  // Sends what the socket takes now; the rest waits for POLLOUT.
  bool flush(Conn& c) {
    while (!c.out.empty()) {
      ssize_t n = send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
      if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
      c.out.erase(c.out.begin(), c.out.begin() + n);
    }
    return true;
  }

  void drop(uint64_t id) {
    auto it = conns_.find(id);
    std::string rank = it->second.rank;
    close(it->second.fd);
    conns_.erase(it);
    awaited_.erase(id);
    if (!rank.empty()) {
      try {
        std::string order = std::to_string(++gone_);
        put(gonePrefix_ + rank, Bytes(order.begin(), order.end()));
      } catch (const ProtocolError&) {
        // the store is full: the rank goes unnamed, nothing else is lost
      }
    }
  }

  static Bytes i64(int64_t v) {
    Bytes b(8);
    std::memcpy(b.data(), &v, 8);
    return b;
  }
  static Bytes vec(const Bytes& v) {
    Bytes b = i64(static_cast<int64_t>(v.size()));
    b.insert(b.end(), v.begin(), v.end());
    return b;
  }

  const std::string alivePrefix_, gonePrefix_;
  int listenFd_ = -1;
  int wake_[2] = {-1, -1};
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  uint64_t nextId_ = 1;
  std::map<uint64_t, Conn> conns_;
  std::unordered_map<std::string, Bytes> kv_;
  size_t stored_ = 0;
  uint64_t gone_ = 0;  // ranks gone so far: each gone key holds its place in that order
  std::unordered_map<std::string, std::vector<uint64_t>> waiting_;
  std::unordered_map<uint64_t, int> awaited_;
};

StoreServer::StoreServer(const std::string& host, uint16_t port, std::string alivePrefix, std::string gonePrefix)
    : impl_(std::make_unique<Impl>(host, port, std::move(alivePrefix), std::move(gonePrefix))) {}

StoreServer::~StoreServer() = default;

uint16_t StoreServer::port() const { return impl_->port(); }

}  // namespace flatdist
