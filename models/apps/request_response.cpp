// Request/response client and server (see tcpmig/apps/request_response.hpp).
#include "tcpmig/apps/request_response.hpp"

#include <algorithm>
#include <array>

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

void LineReader::read(tcp::TcpSocket& s, std::vector<std::string>& out) {
  std::array<uint8_t, 2048> buf{};
  while (const std::size_t n = s.recv(buf)) {
    for (std::size_t i = 0; i < n; ++i) {
      const char c = static_cast<char>(buf[i]);
      if (c == '\n') {
        if (!partial_.empty() && partial_.back() == '\r') partial_.pop_back();
        out.push_back(std::move(partial_));
        partial_.clear();
      } else {
        partial_.push_back(c);
      }
    }
  }
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
    finish();
  }
}

void RequestClient::send_next() {
  if (sock_ == nullptr || sent_ >= cfg_.count) return;
  const std::string msg = cfg_.request_prefix + std::to_string(cfg_.first_index + sent_);
  unsent_ = msg + "\n";
  send_pending(*sock_, unsent_);  // the rest goes out from on_writable
  ++sent_;
  console_.line(stack_.sim().now(), name_, "sent: " + msg);
}

void RequestClient::on_writable(tcp::TcpSocket& s) { send_pending(s, unsent_); }

void RequestClient::finish() {
  if (!cfg_.close_when_done || sock_ == nullptr) return;
  console_.line(stack_.sim().now(), name_, "closing");
  sock_->close();
}

void RequestClient::on_readable(tcp::TcpSocket& s) {
  lines_.clear();
  reader_.read(s, lines_);
  for (std::string& l : lines_) {
    console_.line(stack_.sim().now(), name_, "received: " + l);
    responses_.push_back(std::move(l));
    if (responses_.size() < cfg_.count) {
      if (responses_.size() == sent_) next_timer_.schedule_in(cfg_.interval);
    } else if (responses_.size() == cfg_.count) {
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
  lines_.clear();
  c->reader.read(s, lines_);
  for (std::string& l : lines_) {
    console_.line(stack_.sim().now(), name_, "received: " + l);
    requests_.push_back(std::move(l));
    c->unsent.append(cfg_.response).push_back('\n');
    send_pending(s, c->unsent);  // the rest goes out from on_writable
    console_.line(stack_.sim().now(), name_, "sent: " + cfg_.response);
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
