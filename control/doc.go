// Package control is the control plane of a running `cinit start`: a unix
// socket through which `cinit status`, `restart`, `stop`, `kill`, `logs`,
// `probe` and `quit` ask and steer it. This package owns the socket (where
// it lives, who owns it, who may connect), the protocol and the client
// side; what a command does is the supervisor's business.
//
// # Where the socket lives
//
// The server and the client compute the same path ([Env.ServerPath],
// [Env.ClientPath]): the first usable directory of $XDG_RUNTIME_DIR/cinit,
// /run/cinit and cinit-UID in the temporary directory, and in it a file
// named after the Procfile's root directory ([SocketName]). Usable means a
// real directory with mode 0700 owned by cinit's user; one that is a
// symbolic link, belongs to someone else or grants group or other access
// is skipped with a warning. A client whose computed file does not exist
// uses the only socket of those directories, so `docker exec C cinit
// status` works from any directory. An explicit path (--socket,
// CINIT_SOCKET) replaces all of this.
//
// # Ownership and stale sockets
//
// [Listen] holds an exclusive flock on PATH.lock for the server's life.
// A socket file whose lock is free was left by a process that died (the
// kernel releases the lock even after SIGKILL) and is replaced atomically;
// a held lock means another cinit owns the socket ([TakenError]). A client
// that finds a socket nobody listens on gets ECONNREFUSED and reports a
// stale socket.
//
// # Who may connect
//
// The socket is mode 0600 in a 0700 directory, and every connection's
// SO_PEERCRED is checked: a uid other than the server's effective uid or
// root gets permission_denied and is closed, whatever the file modes say.
// There is no TCP listener and no abstract socket (abstract names ignore
// file permissions and are shared by a whole network namespace).
//
// # Protocol, version 1
//
// One request per connection: one JSON object on one line ([Request]),
// at most [MaxRequest] bytes, complete within [RequestDeadline], with
// "v":1. The server answers with one [Reply] line: a result, or an error
// with one of the stable codes ([BadRequest] ... [NotAttachable]). Unknown
// fields are ignored both ways, so new optional fields do not need a new
// version. At most [MaxConns] connections are served at once; one more
// gets [Busy]. A streaming command (`logs -f`) keeps the connection after
// its reply and sends more lines until it ends, then closes it.
//
// # Threads
//
// [Server] runs an accept goroutine and one goroutine per connection,
// which does the I/O, the peer check and the parsing, and then calls the
// [Handler] registered for the command. The handler hands the [Call] to
// whoever owns the state (cinit's supervisor posts it to its loop) and
// returns; the connection's goroutine waits for the answer. Answering
// ([Call.Reply], [Call.Fail], [Call.Stream]) never blocks, so the owner of
// the state never waits for a client: it may answer at once or keep the
// Call and answer when an event completes it. A client that goes away
// changes nothing for the owner; its answer is dropped.
//
// # Adding a command
//
// A command is an entry in the map given to [Server.Serve]: its name and a
// Handler. A streaming command answers with [Call.Stream], passing a
// [Stream] function that the connection's goroutine runs after writing the
// reply. The function gets a [Conn]: Write sends to the client, Read
// returns what the client sends after its request line (an interactive
// command reads its input there), and [Conn.Gone] tells a stream that does
// not read when the client hung up. The connection is closed when the
// function returns. For example, a command that echoes its input back:
//
//	"echo": func(c *control.Call) {
//		c.Stream(nil, func(conn *control.Conn) { io.Copy(conn, conn) })
//	},
//
// The client side is [Dial], [Client.Do] for the request and reply, then
// [Client.ReadLine] (or [Client.Conn] for raw bytes) for the stream.
package control
