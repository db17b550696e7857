// The PostgreSQL server at the byte level: malformed startup packets and
// messages, wrong lengths, unknown message types, the extended protocol's
// error recovery and PortalSuspended, a client that disconnects mid-result
// or stops reading — the server answers with errors, keeps serving other
// clients, and its parsers and splitter hold for any input.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <thread>

#include "common/testing/test_util.h"
#include "server/listen.h"
#include "server/pgwire/pg_server.h"
#include "server/pgwire/protocol.h"
#include "server/pgwire/statement.h"
#include "server/pgwire/testing/test_engine.h"
#include "server/pgwire/types.h"

namespace kl::server {
namespace {

using pg::MessageWriter;

class Client {
 public:
  explicit Client(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
    timeval tv{5, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  }
  ~Client() { Close(); }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  bool connected() const { return connected_; }
  void Send(const std::string& bytes) {
    ASSERT_EQ(::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL), static_cast<ssize_t>(bytes.size()));
  }
  // Reads one backend message: type and body; type 0 when the server closed.
  std::pair<char, std::string> Read() {
    std::string header = ReadN(5);
    if (header.size() < 5) return {0, ""};
    uint32_t len = (static_cast<uint8_t>(header[1]) << 24) | (static_cast<uint8_t>(header[2]) << 16) |
                   (static_cast<uint8_t>(header[3]) << 8) | static_cast<uint8_t>(header[4]);
    return {header[0], ReadN(len - 4)};
  }
  // Reads until ReadyForQuery (or close); returns the message types seen.
  std::string ReadUntilReady(std::string* error_code = nullptr) {
    std::string types;
    while (true) {
      auto [type, body] = Read();
      if (type == 0) return types + "!";
      types += type;
      if (type == 'E' && error_code != nullptr) *error_code = Field(body, 'C');
      if (type == 'Z') return types;
    }
  }
  static std::string Field(const std::string& body, char code) {
    size_t i = 0;
    while (i < body.size() && body[i] != 0) {
      char c = body[i++];
      size_t end = body.find('\0', i);
      if (c == code) return body.substr(i, end - i);
      i = end + 1;
    }
    return "";
  }
  // Startup as user "test"; returns true when ReadyForQuery came.
  bool Startup() {
    Send(StartupPacket({{"user", "test"}, {"database", "kubelake"}}));
    return ReadUntilReady().back() == 'Z';
  }
  static std::string StartupPacket(const std::vector<std::pair<std::string, std::string>>& params) {
    std::string body;
    uint32_t v = htonl(pg::kProtocolVersion3);
    body.append(reinterpret_cast<char*>(&v), 4);
    for (const auto& [k, val] : params) body += k + '\0' + val + '\0';
    body += '\0';
    uint32_t len = htonl(static_cast<uint32_t>(body.size() + 4));
    return std::string(reinterpret_cast<char*>(&len), 4) + body;
  }
  static std::string Msg(char type, const std::string& body) {
    MessageWriter w;
    w.Begin(type);
    w.Bytes(body);
    w.End();
    return w.buffer();
  }

  std::string ReadN(size_t n) {
    std::string out(n, '\0');
    size_t got = 0;
    while (got < n) {
      ssize_t r = ::recv(fd_, out.data() + got, n - got, 0);
      if (r <= 0) break;
      got += static_cast<size_t>(r);
    }
    out.resize(got);
    return out;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

std::string Q(const std::string& sql) { return Client::Msg('Q', sql + '\0'); }

class PgProtocolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto addr = ParseListenAddress("127.0.0.1:0", "test");
    ASSERT_TRUE(addr.ok());
    auto s = PgServer::Start(**addr, PgServerOptions{}, &engine_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(*s);
  }
  // The server still serves a well-behaved client.
  void ExpectServing() {
    Client c(server_->port());
    ASSERT_TRUE(c.Startup());
    c.Send(Q("SELECT 1"));
    EXPECT_EQ(c.ReadUntilReady(), "TDCZ");
  }
  testing::TestEngine engine_;
  std::unique_ptr<PgServer> server_;
};

TEST_F(PgProtocolTest, BadStartupPackets) {
  for (std::string bytes : {std::string("\x00\x00\x00\x02", 4), std::string("\x7f\xff\xff\xff", 4),
                            std::string("\x00\x00\x00\x08\x00\x02\x00\x00", 8),          // protocol 2.0
                            std::string("\x00\x00\x00\x0a\x00\x03\x00\x00user", 12)}) {  // unterminated
    Client c(server_->port());
    c.Send(bytes);
    auto [type, body] = c.Read();
    EXPECT_EQ(type, 'E') << "for " << bytes.size() << " bytes";
    EXPECT_EQ(c.Read().first, 0);  // then closed
  }
  {  // no user
    Client c(server_->port());
    c.Send(Client::StartupPacket({{"database", "x"}}));
    auto [type, body] = c.Read();
    EXPECT_EQ(type, 'E');
    EXPECT_EQ(Client::Field(body, 'C'), "28000");
  }
  ExpectServing();
}

TEST_F(PgProtocolTest, SslRequestAnsweredN) {
  Client c(server_->port());
  c.Send(std::string("\x00\x00\x00\x08\x04\xd2\x16\x2f", 8));
  EXPECT_EQ(c.ReadN(1), "N");
  // Then the StartupMessage on the same connection.
  c.Send(Client::StartupPacket({{"user", "u"}}));
  std::string types = c.ReadUntilReady();
  EXPECT_EQ(types.front(), 'R');
  EXPECT_EQ(types.back(), 'Z');
}

TEST_F(PgProtocolTest, MalformedMessagesAnsweredAndSessionGoesOn) {
  Client c(server_->port());
  ASSERT_TRUE(c.Startup());
  std::string code;
  c.Send(Client::Msg('y', "whatever"));  // unknown type
  EXPECT_EQ(c.ReadUntilReady(&code), "EZ");
  EXPECT_EQ(code, "08P01");
  c.Send(Client::Msg('Q', "SELECT 1"));  // Query without its NUL
  EXPECT_EQ(c.ReadUntilReady(&code), "EZ");
  // Extended protocol: a bad Bind, then messages ignored until Sync.
  c.Send(Client::Msg('B', std::string("\0nosuch\0\0\0\0\0\0\0", 14)) + Client::Msg('E', std::string("\0\0\0\0\0", 5)) +
         Client::Msg('S', ""));
  EXPECT_EQ(c.ReadUntilReady(&code), "EZ");
  EXPECT_EQ(code, "26000");
  c.Send(Client::Msg('P', std::string("\0SELECT 1; SELECT 2\0\0\0", 22)) + Client::Msg('S', ""));
  EXPECT_EQ(c.ReadUntilReady(&code), "EZ");
  EXPECT_EQ(code, "42601");
  // Bind with a parameter count larger than the message.
  c.Send(Client::Msg('P', std::string("\0SELECT $1\0\0\0", 13)) + Client::Msg('B', std::string("\0\0\0\0\x7f\xff", 6)) +
         Client::Msg('S', ""));
  EXPECT_EQ(c.ReadUntilReady(&code), "1EZ");
  EXPECT_EQ(code, "08P01");
  c.Send(Q("SELECT 1"));
  EXPECT_EQ(c.ReadUntilReady(), "TDCZ");
  // A length below 4 loses the framing: FATAL and close.
  c.Send(std::string("Q\x00\x00\x00\x02", 5));
  EXPECT_EQ(c.ReadUntilReady(&code), "E!");
  ExpectServing();
}

TEST_F(PgProtocolTest, PortalSuspendedAndResumed) {
  Client c(server_->port());
  ASSERT_TRUE(c.Startup());
  std::string parse = std::string("\0", 1) + "SELECT * FROM generate_series(5)" + std::string("\0\0\0", 3);
  std::string bind("\0\0\0\0\0\0\0\0", 8);  // unnamed portal and statement, no formats, params or result formats
  std::string exec2 = std::string("\0", 1) + std::string("\0\0\0\x02", 4);
  c.Send(Client::Msg('P', parse) + Client::Msg('B', bind) + Client::Msg('E', exec2) + Client::Msg('E', exec2) +
         Client::Msg('E', exec2) + Client::Msg('S', ""));
  EXPECT_EQ(c.ReadUntilReady(), "12DDsDDsDCZ");
}

// A stream that hands over column batches: rows split across batches and Execute's
// row limit, NULLs, strings and integers written from the columns, other types (a
// double) through EncodeValue; the bytes of each DataRow as the row path writes them.
TEST_F(PgProtocolTest, BatchedRowsSuspendedResumedAndEncoded) {
  Client c(server_->port());
  ASSERT_TRUE(c.Startup());
  std::string parse = std::string("\0", 1) + "SELECT * FROM generate_batches(5)" + std::string("\0\0\0", 3);
  std::string bind("\0\0\0\0\0\0\0\0", 8);
  std::string exec3 = std::string("\0", 1) + std::string("\0\0\0\x03", 4);
  c.Send(Client::Msg('P', parse) + Client::Msg('B', bind) + Client::Msg('E', exec3) + Client::Msg('E', exec3) +
         Client::Msg('S', ""));
  std::string types;
  std::vector<std::string> rows;
  while (true) {
    auto [type, body] = c.Read();
    if (type == 0) break;
    types.push_back(type);
    if (type == 'D') rows.push_back(body);
    if (type == 'Z') break;
  }
  EXPECT_EQ(types, "12DDDsDDCZ");
  ASSERT_EQ(rows.size(), 5u);
  auto value = [](const std::string& text) {
    uint32_t n = htonl(static_cast<uint32_t>(text.size()));
    return std::string(reinterpret_cast<const char*>(&n), 4) + text;
  };
  const std::string three_columns("\0\x03", 2), null_value("\xff\xff\xff\xff", 4);
  EXPECT_EQ(rows[0], three_columns + value("1") + value("row 1") + value("0.5"));
  EXPECT_EQ(rows[2], three_columns + value("3") + null_value + value("1.5"));
  EXPECT_EQ(rows[4], three_columns + value("5") + value("row 5") + value("2.5"));
}

TEST(PgTypes, PlainTextOfColumnsIsEncodeValueText) {
  using format::Column;
  using format::DataType;
  std::vector<std::pair<DataType, std::vector<format::Datum>>> cases = {
      {DataType::Boolean(), {format::Datum::Bool(true), format::Datum::Bool(false)}},
      {DataType::TinyInt(), {format::Datum::Int(-128), format::Datum::Int(7)}},
      {DataType::Int(), {format::Datum::Int(2147483647), format::Datum::Int(0)}},
      {DataType::BigInt(), {format::Datum::Int(INT64_MIN), format::Datum::Int(INT64_MAX)}},
      {DataType::String(), {format::Datum::Bytes(""), format::Datum::Bytes("h\xc3\xa9llo, \"w\"\n")}},
      {DataType::Char(3), {format::Datum::Bytes("abc")}},
  };
  char buf[24];
  for (const auto& [type, values] : cases) {
    Column column(type);
    for (const auto& v : values) column.Append(v);
    for (size_t i = 0; i < values.size(); ++i) {
      std::string want;
      KL_ASSERT_OK(pg::EncodeValue(values[i], type, false, &want));
      auto got = pg::PlainTextOf(column, i, type, buf);
      ASSERT_TRUE(got.has_value()) << type.ToString();
      EXPECT_EQ(std::string(*got), want) << type.ToString();
    }
  }
  // Dictionary-encoded strings read through the dictionary.
  std::string_view words[] = {"b", "a", ""};
  Column dict_column(DataType::String());
  uint32_t codes[] = {1, 0, 1};
  dict_column.AppendCodes(Column::MakeDictionary(DataType::String(), words, 3), codes, 3);
  ASSERT_TRUE(dict_column.is_dictionary());
  EXPECT_EQ(*pg::PlainTextOf(dict_column, 0, DataType::String(), buf), "a");
  EXPECT_EQ(*pg::PlainTextOf(dict_column, 1, DataType::String(), buf), "b");
  // Types whose text needs more than a copy, and a declared type other than the column's, are left to EncodeValue.
  Column doubles(DataType::Double());
  doubles.Append(format::Datum::Double(1.5));
  EXPECT_FALSE(pg::PlainTextOf(doubles, 0, DataType::Double(), buf).has_value());
  Column bytes(DataType::Bytes());
  bytes.Append(format::Datum::Bytes("x"));
  EXPECT_FALSE(pg::PlainTextOf(bytes, 0, DataType::Bytes(), buf).has_value());
  Column ints(DataType::BigInt());
  ints.Append(format::Datum::Int(1));
  EXPECT_FALSE(pg::PlainTextOf(ints, 0, DataType::String(), buf).has_value());
}

TEST_F(PgProtocolTest, ClientsThatVanishOrStall) {
  {  // disconnect in the middle of a large result
    Client c(server_->port());
    ASSERT_TRUE(c.Startup());
    c.Send(Q("SELECT * FROM generate_series(900000)"));
    c.Read();
    c.Close();
  }
  {  // truncated message, then gone
    Client c(server_->port());
    ASSERT_TRUE(c.Startup());
    c.Send(std::string("Q\x00\x00\x01\x00SELE", 9));
  }
  // A client that asks for a large result and never reads it holds only its own connection.
  Client stalled(server_->port());
  ASSERT_TRUE(stalled.Startup());
  stalled.Send(Q("SELECT * FROM generate_series(900000)"));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 20; ++i) ExpectServing();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  // Terminate closes cleanly.
  Client t(server_->port());
  ASSERT_TRUE(t.Startup());
  t.Send(Client::Msg('X', ""));
  EXPECT_EQ(t.Read().first, 0);
}

TEST(PgStatementSplit, QuotesCommentsAndDollars) {
  using pg::SplitStatements;
  EXPECT_EQ(SplitStatements("SELECT 1; SELECT 2;"), (std::vector<std::string>{"SELECT 1", "SELECT 2"}));
  EXPECT_EQ(SplitStatements("SELECT ';' AS a; -- c;d\nSELECT \"x;y\""),
            (std::vector<std::string>{"SELECT ';' AS a", "-- c;d\nSELECT \"x;y\""}));
  EXPECT_EQ(SplitStatements("SELECT $$a;b$$; SELECT $t$;$t$; SELECT $1"),
            (std::vector<std::string>{"SELECT $$a;b$$", "SELECT $t$;$t$", "SELECT $1"}));
  EXPECT_EQ(SplitStatements("/* a; /* nested; */ b; */ SELECT 1"),
            (std::vector<std::string>{"/* a; /* nested; */ b; */ SELECT 1"}));
  EXPECT_TRUE(SplitStatements("  ;; -- ping\n").empty());
  EXPECT_TRUE(pg::IsEmptyStatement("-- ping"));
  EXPECT_FALSE(pg::IsEmptyStatement("-- ping\nSELECT 1"));
  EXPECT_EQ(SplitStatements("SELECT 'unterminated; still one").size(), 1u);
}

TEST(PgStatementClassify, SessionCommandsAndEngineStatements) {
  using Kind = pg::SessionCommand::Kind;
  auto c = [](const char* s) { return pg::ClassifyStatement(s, &pg::IsKnownSetting); };
  EXPECT_EQ(c("BEGIN").kind, Kind::kBegin);
  EXPECT_EQ(c("start transaction read only").kind, Kind::kBegin);
  EXPECT_EQ(c("COMMIT").kind, Kind::kCommit);
  EXPECT_EQ(c("end").kind, Kind::kCommit);
  EXPECT_EQ(c("ROLLBACK;").kind, Kind::kRollback);
  EXPECT_EQ(c("rollback to savepoint a").kind, Kind::kEngine);
  auto set = c("SET DateStyle TO 'ISO, DMY'");
  EXPECT_EQ(set.kind, Kind::kSet);
  EXPECT_EQ(set.name, "datestyle");
  EXPECT_EQ(set.value, "ISO, DMY");
  EXPECT_EQ(c("SET datestyle = iso, ymd").value, "iso, ymd");
  EXPECT_EQ(c("SET TIME ZONE 'Europe/Berlin'").name, "timezone");
  EXPECT_EQ(c("SET 'table.exec.mode' = 'batch'").kind, Kind::kEngine);  // Flink's SET goes to the engine
  EXPECT_EQ(c("SET odps.sql.type.system=true").kind, Kind::kSet);       // a custom (dotted) setting
  EXPECT_EQ(c("SHOW TABLES").kind, Kind::kEngine);
  EXPECT_EQ(c("SHOW ALL").kind, Kind::kShow);
  EXPECT_EQ(c("show transaction isolation level").name, "transaction_isolation");
  EXPECT_EQ(c("RESET ALL").kind, Kind::kReset);
  EXPECT_EQ(c("DISCARD ALL").kind, Kind::kDiscardAll);
  EXPECT_EQ(c("DEALLOCATE PREPARE s1").name, "s1");
  EXPECT_EQ(c("SELECT 1").kind, Kind::kEngine);
}

TEST(PgTypes, NumericBinaryRoundTripsAndPgEncodings) {
  using format::DataType;
  using format::Datum;
  DataType dec = DataType::Decimal(38, 6);
  for (format::Int128 v : {format::Int128(0), format::Int128(1), format::Int128(-1), format::Int128(10000),
                           format::Int128(123456789012345678LL), format::Int128(-99999999), format::Int128(1000000),
                           format::Int128(100000000000000LL) * 1000000000}) {
    std::string bytes;
    ASSERT_TRUE(pg::EncodeValue(Datum::Decimal(v), dec, true, &bytes).ok());
    auto back = pg::DecodeValue(bytes, dec, pg::oid::kNumeric, true);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_TRUE(back->as_decimal() == v) << format::FormatDecimal(v, 6);
  }
  // 19.99 as PostgreSQL sends it: ndigits 2, weight 0, sign +, dscale 2, digits 19 and 9900.
  std::string bytes;
  ASSERT_TRUE(pg::EncodeValue(Datum::Decimal(1999), DataType::Decimal(10, 2), true, &bytes).ok());
  EXPECT_EQ(bytes, std::string("\x00\x02\x00\x00\x00\x00\x00\x02\x00\x13\x26\xac", 12));
  std::string text;
  ASSERT_TRUE(pg::EncodeValue(Datum::Double(0.1), DataType::Double(), false, &text).ok());
  EXPECT_EQ(text, "0.1");
  EXPECT_FALSE(pg::DecodeValue("12x", DataType::Int(), 0, false).ok());
  EXPECT_FALSE(pg::DecodeValue("99999999999", DataType::Int(), 0, false).ok());
  EXPECT_FALSE(pg::DecodeValue(std::string("\x01\x02", 2), DataType::BigInt(), pg::oid::kInt8, true).ok());
  auto ts = pg::DecodeValue("2024-01-02 03:04:05.5+02", DataType::TimestampLtz(6), 0, false);
  ASSERT_TRUE(ts.ok());
  EXPECT_EQ(ts->as_timestamp().ToMicros(), 1704157445500000);
}

}  // namespace
}  // namespace kl::server
