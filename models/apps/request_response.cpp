// Request/response client and server (see tcpmig/apps/request_response.hpp).
#include "tcpmig/apps/request_response.hpp"

#include <algorithm>
#include <array>
#include <charconv>

namespace tcpmig::apps {

std::string endpoint_text(wire::Ipv4Address a, uint16_t port) {
  std::string s;
  a.append_to(s);
  s.push_back(':');
  s.append(std::to_string(port));
  return s;
}

bool send_pending(tcp::TcpSocket& s, std::string& pending) {
  if (pending.empty()) return true;
  const std::size_t n = s.send({reinterpret_cast<const uint8_t*>(pending.data()), pending.size()});
  pending.erase(0, n);
  return pending.empty();
}

std::size_t LineReader::read(tcp::TcpSocket& s) {
  buf_.erase(0, pos_);  // the lines already returned (keeps the capacity)
  pos_ = 0;
  const std::size_t before = buf_.size();
  std::array<uint8_t, 2048> chunk;  // filled by recv: no zeroing per call
  while (const std::size_t n = s.recv(chunk)) buf_.append(reinterpret_cast<const char*>(chunk.data()), n);
  return buf_.size() - before;
}

bool LineReader::next(std::string_view& line) {
  const std::size_t nl = buf_.find('\n', pos_);
  if (nl == std::string::npos) return false;
  line = std::string_view(buf_).substr(pos_, nl - pos_);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  pos_ = nl + 1;
  return true;
}

// ---------------------------------------------------------------- client

RequestClient::RequestClient(tcp::TcpStack& stack, RequestClientConfig cfg, Console& console)
    : stack_(stack),
      cfg_(std::move(cfg)),
      console_(console),
      name_(cfg_.name.empty() ? stack.node().name() : cfg_.name),
      start_timer_(stack.sim(), sim::Callback::bind<&RequestClient::start>(this)),
      next_timer_(stack.sim(), sim::Callback::bind<&RequestClient::send_next>(this)) {
  start_timer_.schedule_at(std::max(cfg_.start, stack.sim().now()));
}

RequestClient::~RequestClient() {
  if (sock_ != nullptr) {
    sock_->set_events(nullptr);
    sock_->abort();
  }
}

void RequestClient::start() {
  sock_ = stack_.connect(cfg_.server, cfg_.port, this);
  if (sock_ == nullptr) {
    console_.line(stack_.sim().now(), name_, "connect failed: no route or no free port");
    closed_ = true;
    return;
  }
  sock_->set_nodelay(cfg_.nodelay);
}

void RequestClient::on_connected(tcp::TcpSocket& s) {
  const auto& t = s.tuple();
  console_.line(stack_.sim().now(), name_,
                "connected " + endpoint_text(t.local_addr, t.local_port) + " -> " +
                    endpoint_text(t.remote_addr, t.remote_port));
  if (cfg_.count > 0) {
    send_next();
  } else {
    completed_ = stack_.sim().now();  // nothing to wait for
    finish();
  }
}

void RequestClient::send_next() {
  if (sock_ == nullptr || sent_ >= cfg_.count) return;
  std::array<char, 10> index{};  // a uint32_t in decimal
  const uint32_t i = cfg_.first_index + sent_;
  request_.assign(cfg_.request_prefix)
      .append(index.data(), std::to_chars(index.data(), index.data() + index.size(), i).ptr);
  unsent_.assign(request_).push_back('\n');
  send_pending(*sock_, unsent_);  // the rest goes out from on_writable
  ++sent_;
  console_.line(stack_.sim().now(), name_, "sent: ", request_);
}

void RequestClient::on_writable(tcp::TcpSocket& s) { send_pending(s, unsent_); }

void RequestClient::finish() {
  if (!cfg_.close_when_done || sock_ == nullptr) return;
  console_.line(stack_.sim().now(), name_, "closing");
  sock_->close();
}

void RequestClient::on_readable(tcp::TcpSocket& s) {
  const std::size_t n = reader_.read(s);
  if (n > 0) {
    bytes_received_ += n;
    deliveries_.record(stack_.sim().now());
  }
  std::string_view l;
  while (reader_.next(l)) {
    console_.line(stack_.sim().now(), name_, "received: ", l);
    if (cfg_.keep_text) responses_.emplace_back(l);
    ++received_;
    if (received_ < cfg_.count) {
      if (received_ == sent_) next_timer_.schedule_in(cfg_.interval);
    } else if (received_ == cfg_.count) {
      completed_ = stack_.sim().now();
      finish();
    }
  }
}

void RequestClient::on_peer_fin(tcp::TcpSocket&) {
  console_.line(stack_.sim().now(), name_, "server closed its side");
}

void RequestClient::on_closed(tcp::TcpSocket& s, tcp::CloseReason r) {
  closed_ = true;
  reason_ = r;
  next_timer_.cancel();
  console_.line(stack_.sim().now(), name_, std::string("connection closed (") + tcp::close_reason_name(r) + ")");
  s.close();  // release (no-op if already closed)
  sock_ = nullptr;
}

// ---------------------------------------------------------------- server

ResponseServer::ResponseServer(tcp::TcpStack& stack, ResponseServerConfig cfg, Console& console)
    : stack_(stack),
      cfg_(std::move(cfg)),
      console_(console),
      name_(cfg_.name.empty() ? stack.node().name() : cfg_.name) {
  listener_ = stack_.listen(cfg_.port, this, cfg_.backlog);
  if (listener_ == nullptr) {
    console_.line(stack_.sim().now(), name_, "listen failed: port " + std::to_string(cfg_.port) + " in use");
  }
}

ResponseServer::~ResponseServer() {
  for (Conn& c : conns_) {
    c.sock->set_events(nullptr);
    c.sock->abort();
  }
  if (listener_ != nullptr) {
    listener_->set_events(nullptr);
    listener_->close();
  }
}

ResponseServer::Conn* ResponseServer::find(tcp::TcpSocket& s) {
  for (Conn& c : conns_) {
    if (c.sock == &s) return &c;
  }
  return nullptr;
}

void ResponseServer::on_accept(tcp::TcpSocket&, tcp::TcpSocket& child) {
  ++connections_;
  child.set_events(this);
  child.set_nodelay(cfg_.nodelay);
  conns_.push_back(Conn{&child, {}, {}});
  const auto& t = child.tuple();
  console_.line(stack_.sim().now(), name_, "connection from " + endpoint_text(t.remote_addr, t.remote_port));
}

void ResponseServer::on_readable(tcp::TcpSocket& s) {
  Conn* c = find(s);
  if (c == nullptr) return;
  c->reader.read(s);
  std::string_view l;
  while (c->reader.next(l)) {
    console_.line(stack_.sim().now(), name_, "received: ", l);
    if (cfg_.keep_text) requests_.emplace_back(l);
    ++received_;
    c->unsent.append(cfg_.response).push_back('\n');
    send_pending(s, c->unsent);  // the rest goes out from on_writable
    console_.line(stack_.sim().now(), name_, "sent: ", cfg_.response);
  }
}

void ResponseServer::on_writable(tcp::TcpSocket& s) {
  if (Conn* c = find(s)) send_pending(s, c->unsent);
}

void ResponseServer::on_peer_fin(tcp::TcpSocket& s) {
  const auto& t = s.tuple();
  console_.line(stack_.sim().now(), name_, "client " + endpoint_text(t.remote_addr, t.remote_port) + " closed");
  s.close();
}

void ResponseServer::on_closed(tcp::TcpSocket& s, tcp::CloseReason r) {
  const auto& t = s.tuple();
  console_.line(stack_.sim().now(), name_,
                "connection " + endpoint_text(t.remote_addr, t.remote_port) + " closed (" + tcp::close_reason_name(r) + ")");
  s.close();
  conns_.erase(std::remove_if(conns_.begin(), conns_.end(), [&](const Conn& c) { return c.sock == &s; }), conns_.end());
}

}  // namespace tcpmig::apps
