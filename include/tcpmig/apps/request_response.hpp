// The seed experiment's applications: a client that sends N requests over
// ONE TCP connection and a server that answers each one.
//
// Place in the layers: models/apps, on tcp::TcpStack.
// Framing: every message is one line of text terminated by '\n' (the '\n' is
// not part of the message and is not printed). A receiver buffers bytes until
// a '\n' arrives, so a message split across segments, or several messages in
// one segment, are handled alike. Messages must not contain '\n'.
// Protocol: the client connects, sends request i = "Hi, I'm Client{i}"
// (i = first_index, first_index + 1, ...), waits for one response line, waits
// `interval`, sends the next; after `count` responses it closes (if
// close_when_done). The server answers every request line with its response
// line, on every connection it accepts, and closes a connection when the
// client's FIN arrives. A '\r' before the '\n' is dropped (CRLF lines work).
// When the send buffer is full, the rest of a message is sent as space frees
// up (on_writable); nothing is dropped.
// Memory: both count the lines they receive; they keep the texts only when
// configured to (keep_text), so a long run grows nothing per request, and
// once a connection is open a request allocates nothing (buffers are reused).
// Console lines (see console.hpp), e.g.:
//   0.004123456 client connected 10.0.1.1:47367 -> 10.0.2.1:80
//   0.004123456 client sent: Hi, I'm Client0
//   0.006200000 server1 connection from 10.0.1.1:47367
//   0.006200000 server1 received: Hi, I'm Client0
//   0.006200000 server1 sent: Hello, I'm Server 1
//   0.008300000 client received: Hello, I'm Server 1
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tcpmig/apps/console.hpp"
#include "tcpmig/apps/delivery.hpp"
#include "tcpmig/sim/simulator.hpp"
#include "tcpmig/tcp/stack.hpp"

namespace tcpmig::apps {

/// Collects '\n'-terminated lines from a byte stream, in one buffer that
/// keeps its capacity (no allocation once it has held the most bytes it will).
class LineReader {
 public:
  /// Reads everything available from `s` and returns how many bytes that
  /// was; its complete lines then come from next().
  std::size_t read(tcp::TcpSocket& s);
  /// The next complete line, without its '\n' (and a '\r' before it); false
  /// when none is left. The view is valid until the next read().
  bool next(std::string_view& line);

 private:
  std::string buf_;      // bytes received and not yet returned as lines
  std::size_t pos_ = 0;  // where in buf_ the first line not yet returned starts
};

struct RequestClientConfig {
  wire::Ipv4Address server;                                // where to connect
  uint16_t port = 80;                                      // server port
  uint32_t count = 10;                                     // requests to send
  uint32_t first_index = 0;                                // i of the first request
  sim::Duration interval = sim::Duration::seconds(1);      // pause after each response
  sim::Time start = sim::Time::zero();                     // when to connect
  std::string name;                                        // console name; empty: the node's name
  std::string request_prefix = "Hi, I'm Client";           // request i = prefix + i
  bool close_when_done = true;                             // close after the last response
  bool nodelay = false;                                    // TCP_NODELAY
  bool keep_text = false;                                  // keep every response line (responses())
};

/// Sends `count` requests over one connection, one at a time.
class RequestClient final : public tcp::TcpEvents {
 public:
  RequestClient(tcp::TcpStack& stack, RequestClientConfig cfg, Console& console);
  ~RequestClient() override;
  RequestClient(const RequestClient&) = delete;
  RequestClient& operator=(const RequestClient&) = delete;

  [[nodiscard]] uint32_t sent() const { return sent_; }
  /// Response lines received.
  [[nodiscard]] uint32_t received() const { return received_; }
  /// Response lines, in arrival order (only with keep_text; empty otherwise).
  [[nodiscard]] const std::vector<std::string>& responses() const { return responses_; }
  /// True once every response arrived.
  [[nodiscard]] bool done() const { return received_ >= cfg_.count; }
  /// Payload bytes read from the connection (response lines with their '\n').
  [[nodiscard]] uint64_t bytes_received() const { return bytes_received_; }
  /// When response bytes reached the client (DeliveryTimes).
  [[nodiscard]] const DeliveryTimes& deliveries() const { return deliveries_; }
  /// When the last of `count` responses arrived (done() became true).
  [[nodiscard]] std::optional<sim::Time> completed() const { return completed_; }
  /// Set when the connection ended.
  [[nodiscard]] bool closed() const { return closed_; }
  [[nodiscard]] tcp::CloseReason close_reason() const { return reason_; }
  /// The socket (nullptr before start or if connect failed).
  [[nodiscard]] tcp::TcpSocket* socket() const { return sock_; }

  void on_connected(tcp::TcpSocket& s) override;
  void on_readable(tcp::TcpSocket& s) override;
  void on_writable(tcp::TcpSocket& s) override;
  void on_peer_fin(tcp::TcpSocket& s) override;
  void on_closed(tcp::TcpSocket& s, tcp::CloseReason r) override;

 private:
  void start();
  void send_next();
  void finish();

  tcp::TcpStack& stack_;
  RequestClientConfig cfg_;
  Console& console_;
  std::string name_;        // what the console lines are labelled with
  std::string request_;     // the current request's text (reused buffer)
  std::string unsent_;      // bytes of the current request not yet accepted by send()
  sim::Timer start_timer_;  // connect at cfg.start
  sim::Timer next_timer_;   // next request after `interval`
  tcp::TcpSocket* sock_ = nullptr;
  LineReader reader_;
  std::vector<std::string> responses_;  // response lines, kept only with keep_text
  uint32_t sent_ = 0;
  uint32_t received_ = 0;   // response lines received
  uint64_t bytes_received_ = 0;  // payload bytes read
  DeliveryTimes deliveries_;     // when payload was read
  std::optional<sim::Time> completed_;  // when received_ reached count
  bool closed_ = false;
  tcp::CloseReason reason_ = tcp::CloseReason::Normal;
};

struct ResponseServerConfig {
  uint16_t port = 80;                              // listen port
  std::string name;                                // console name; empty: the node's name
  std::string response = "Hello, I'm Server 1";    // the answer to every request
  uint32_t backlog = 128;                          // listen backlog
  bool nodelay = false;                            // TCP_NODELAY on accepted sockets
  bool keep_text = false;                          // keep every request line (requests())
};

/// Answers every request line with `response`.
class ResponseServer final : public tcp::TcpEvents {
 public:
  ResponseServer(tcp::TcpStack& stack, ResponseServerConfig cfg, Console& console);
  ~ResponseServer() override;
  ResponseServer(const ResponseServer&) = delete;
  ResponseServer& operator=(const ResponseServer&) = delete;

  /// Request lines received, over all connections.
  [[nodiscard]] uint64_t received() const { return received_; }
  /// Request lines, over all connections, in arrival order (only with
  /// keep_text; empty otherwise).
  [[nodiscard]] const std::vector<std::string>& requests() const { return requests_; }
  [[nodiscard]] uint32_t connections() const { return connections_; }
  [[nodiscard]] tcp::TcpSocket* listener() const { return listener_; }

  void on_accept(tcp::TcpSocket& listener, tcp::TcpSocket& child) override;
  void on_readable(tcp::TcpSocket& s) override;
  void on_writable(tcp::TcpSocket& s) override;
  void on_peer_fin(tcp::TcpSocket& s) override;
  void on_closed(tcp::TcpSocket& s, tcp::CloseReason r) override;

 private:
  struct Conn {
    tcp::TcpSocket* sock;
    LineReader reader;
    std::string unsent;  // response bytes not yet accepted by send()
  };
  Conn* find(tcp::TcpSocket& s);

  tcp::TcpStack& stack_;
  ResponseServerConfig cfg_;
  Console& console_;
  std::string name_;  // what the console lines are labelled with
  tcp::TcpSocket* listener_ = nullptr;
  std::vector<Conn> conns_;  // accepted connections, in accept order
  std::vector<std::string> requests_;  // request lines, kept only with keep_text
  uint64_t received_ = 0;              // request lines received
  uint32_t connections_ = 0;
};

/// "a.b.c.d:port".
std::string endpoint_text(wire::Ipv4Address a, uint16_t port);

/// Sends as much of `pending` as the socket accepts and erases it from the
/// front; true when nothing is left.
bool send_pending(tcp::TcpSocket& s, std::string& pending);

}  // namespace tcpmig::apps
