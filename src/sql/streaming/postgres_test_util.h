// A real PostgreSQL server for tests and benchmarks: initdb into a scratch directory, then
// postgres on a free local port with trust authentication. As root (CI, the
// two-command set-up), the server runs as `nobody`, since PostgreSQL refuses
// to run as root. Tests skip with a message when no PostgreSQL server is
// installed (scripts/setup-deps installs Debian's `postgresql`).
#pragma once

#include <grp.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/file/file_util.h"
#include "common/random.h"
#include "common/testing/test_system_util.h"

namespace kl::testing {

class PostgresServer {
 public:
  PostgresServer() = default;
  PostgresServer(const PostgresServer&) = delete;
  ~PostgresServer() { Stop(); }

  // The bin directory of the newest installed server, or "".
  static std::string BinDir() {
    for (const char* v : {"17", "16", "15", "14", "13"}) {
      std::string dir = std::string("/usr/lib/postgresql/") + v + "/bin";
      if (FileExists(dir + "/initdb") && FileExists(dir + "/postgres")) return dir;
    }
    return "";
  }

  // Starts the server; "" on success, else why not.
  std::string Start() {
    std::string bin = BinDir();
    if (bin.empty()) return "no PostgreSQL server installed (/usr/lib/postgresql/*/bin)";
    dir_ = "/tmp/kubelake-pg-" + RandomUuid();
    if (!CreateDirs(dir_).ok()) return "cannot create " + dir_;
    ::chmod(dir_.c_str(), 0700);
    uid_t uid = ::getuid();
    gid_t gid = ::getgid();
    if (uid == 0) {
      struct passwd* pw = ::getpwnam("nobody");
      if (pw == nullptr) return "running as root and there is no user nobody to run PostgreSQL as";
      uid = pw->pw_uid;
      gid = pw->pw_gid;
      if (::chown(dir_.c_str(), uid, gid) != 0) return "cannot chown " + dir_;
      run_as_ = uid;
      run_gid_ = gid;
    }
    std::string data = dir_ + "/data";
    int rc = Run({bin + "/initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"}, true);
    if (rc != 0) return "initdb failed (exit " + std::to_string(rc) + "), see " + dir_ + "/initdb.log";
    port_ = FreePort();
    pid_ = Spawn({bin + "/postgres", "-D", data, "-p", std::to_string(port_), "-k", dir_, "-c",
                  "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "max_connections=50"},
                 dir_ + "/postgres.log");
    for (int i = 0; i < 300; ++i) {
      if (PQping(ConnInfo().c_str()) == PQPING_OK) return "";
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return "PostgreSQL did not start; see " + dir_ + "/postgres.log";
  }

  void Stop() {
    if (pid_ > 0) {
      ::kill(pid_, SIGINT);  // fast shutdown
      int status = 0;
      ::waitpid(pid_, &status, 0);
      pid_ = -1;
    }
    if (!dir_.empty()) (void)RemoveAll(dir_);
    dir_.clear();
  }

  int port() const { return port_; }
  // The postmaster's process id (its backends are its children) and the data directory.
  pid_t pid() const { return pid_; }
  std::string data_dir() const { return dir_ + "/data"; }
  std::string ConnInfo() const {
    return "host=127.0.0.1 port=" + std::to_string(port_) + " dbname=postgres user=postgres connect_timeout=5";
  }
  std::string JdbcUrl() const { return "jdbc:postgresql://127.0.0.1:" + std::to_string(port_) + "/postgres"; }

  // Runs `sql`; the rows as text ("NULL" for nulls), cells joined by '|'. Errors as a row "ERROR: ...".
  std::vector<std::string> Query(const std::string& sql) const {
    std::vector<std::string> out;
    PGconn* c = PQconnectdb(ConnInfo().c_str());
    if (PQstatus(c) != CONNECTION_OK) {
      out.push_back(std::string("ERROR: ") + PQerrorMessage(c));
      PQfinish(c);
      return out;
    }
    PGresult* r = PQexec(c, sql.c_str());
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
      out.push_back(std::string("ERROR: ") + PQresultErrorMessage(r));
    } else {
      for (int i = 0; i < PQntuples(r); ++i) {
        std::string row;
        for (int j = 0; j < PQnfields(r); ++j) {
          if (j > 0) row += "|";
          row += PQgetisnull(r, i, j) ? "NULL" : PQgetvalue(r, i, j);
        }
        out.push_back(row);
      }
    }
    PQclear(r);
    PQfinish(c);
    return out;
  }

 private:
  pid_t Spawn(const std::vector<std::string>& args, const std::string& log) {
    pid_t pid = ::fork();
    if (pid == 0) {
      FILE* out = std::fopen(log.c_str(), "a");
      if (out != nullptr) {
        ::dup2(::fileno(out), 1);
        ::dup2(::fileno(out), 2);
      }
      if (run_as_) {
        if (::setgroups(0, nullptr) != 0 || ::setgid(run_gid_) != 0 || ::setuid(*run_as_) != 0) _exit(126);
      }
      std::vector<char*> argv;
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      _exit(127);
    }
    return pid;
  }

  int Run(const std::vector<std::string>& args, bool) {
    pid_t pid = Spawn(args, dir_ + "/initdb.log");
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
  }

  std::string dir_;
  int port_ = 0;
  pid_t pid_ = -1;
  std::optional<uid_t> run_as_;
  gid_t run_gid_ = 0;
};

}  // namespace kl::testing
