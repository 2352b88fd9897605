/*
 * examples/java/LostUpdate.java -- occ catches a lost update, seen from plain JDBC.
 *
 * Part 1: Alice and Bob share a bank account, each on their own connection.
 * Both read the balance and its version; Alice writes first; Bob's write,
 * which states the version he read, is refused by the server with SQLSTATE
 * 40V01, which pgJDBC raises as a PSQLException.  Bob reads again, retries,
 * and both changes are kept.
 *
 * Part 2: closing the account, a DELETE states its version through
 * occ.if_match (SET LOCAL).
 *
 * Part 3: a second table written the way ORMs do it (Hibernate, JPA):
 * UPDATE ... SET version = read + 1 WHERE id = ? AND version = read.  A stale
 * writer updates 0 rows and must treat that as a conflict; a stale writer
 * that forgets the WHERE clause but still states its version is refused by
 * occ itself.
 *
 * Connects over TCP to PGHOST:PGPORT as PGUSER (password from PGPASSWORD if
 * set) to PGDATABASE; pgJDBC cannot use a unix socket without an extra
 * library, so PGHOST must be a host name or address.  Creates its own
 * tables, drops them at the end, and exits non-zero if anything does not
 * happen as told.
 *
 *   javac -cp /usr/share/java/postgresql.jar -d /tmp/classes LostUpdate.java
 *   java -cp /usr/share/java/postgresql.jar:/tmp/classes LostUpdate
 */

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.SQLTransactionRollbackException;
import java.sql.SQLTransientException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Properties;

import org.postgresql.util.PSQLException;
import org.postgresql.util.ServerErrorMessage;

public class LostUpdate {
    static final long PID = ProcessHandle.current().pid();
    static final String ACCOUNTS = "occ_example_java_accounts_" + PID;
    static final String DOCS = "occ_example_java_docs_" + PID;

    static final List<String> failures = new ArrayList<>();

    static void say(String text) {
        System.out.println(text);
    }

    /* Record a failure when got differs from expected; say what was seen. */
    static boolean check(String what, Object got, Object expected) {
        if (Objects.equals(got, expected)) {
            say("    [ok] " + what + ": " + got);
            return true;
        }
        say("    [FAILED] " + what + ": expected " + expected + ", got " + got);
        failures.add(what);
        return false;
    }

    static String env(String name, String fallback) {
        String value = System.getenv(name);
        return value == null || value.isEmpty() ? fallback : value;
    }

    static Connection connect(String who, boolean autoCommit) throws SQLException {
        String host = env("PGHOST", "localhost");
        String port = env("PGPORT", "5432");
        String user = env("PGUSER", System.getProperty("user.name"));
        Properties props = new Properties();
        props.setProperty("user", user);
        props.setProperty("ApplicationName", who);
        String password = System.getenv("PGPASSWORD");
        if (password != null)
            props.setProperty("password", password);
        String url = "jdbc:postgresql://" + host + ":" + port + "/" + env("PGDATABASE", user);
        Connection conn = DriverManager.getConnection(url, props);
        conn.setAutoCommit(autoCommit);
        return conn;
    }

    static void exec(Connection conn, String sql) throws SQLException {
        try (Statement st = conn.createStatement()) {
            st.execute(sql);
        }
    }

    /* One row of one column, as a string. */
    static String queryOne(Connection conn, String sql) throws SQLException {
        try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            return rs.next() ? rs.getString(1) : null;
        }
    }

    /* Read a row's first column and its version; ends the transaction. */
    static long[] readBalance(Connection conn, String who) throws SQLException {
        long[] row = new long[2];
        try (PreparedStatement ps = conn.prepareStatement(
                "SELECT balance, version FROM " + ACCOUNTS + " WHERE id = ?")) {
            ps.setInt(1, 1);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next())
                    throw new IllegalStateException("account 1 is gone");
                row[0] = rs.getLong(1);
                row[1] = rs.getLong(2);
            }
        }
        conn.commit();
        say(who + " reads account 1: balance " + row[0] + ", version " + row[1]);
        return row;
    }

    /* Write a balance stating the version it was computed from, and commit. */
    static int writeBalance(Connection conn, long balance, long version) throws SQLException {
        try (PreparedStatement ps = conn.prepareStatement(
                "UPDATE " + ACCOUNTS + " SET balance = ?, version = ? WHERE id = ?")) {
            ps.setLong(1, balance);
            ps.setLong(2, version);
            ps.setInt(3, 1);
            int rows = ps.executeUpdate();
            conn.commit();
            return rows;
        } catch (SQLException e) {
            conn.rollback();
            throw e;
        }
    }

    /* Print what pgJDBC tells about a server error. */
    static void describe(PSQLException e) {
        ServerErrorMessage m = e.getServerErrorMessage();
        say("    exception class:     " + e.getClass().getName());
        say("    getSQLState():       " + e.getSQLState());
        say("    getMessage():        " + m.getMessage());
        say("    getSchema():         " + m.getSchema());
        say("    getTable():          " + m.getTable());
        say("    getColumn():         " + m.getColumn());
        say("    getDetail():         " + m.getDetail());
        say("    getHint():           " + m.getHint());
    }

    /* Check the fields of a 40V01 error. */
    static void checkConflict(PSQLException e, String table, String schema, String verb) {
        ServerErrorMessage m = e.getServerErrorMessage();
        check("SQLSTATE", e.getSQLState(), "40V01");
        check("message", m.getMessage(),
              "version conflict on " + verb + " relation \"" + table + "\"");
        check("schema", m.getSchema(), schema);
        check("table", m.getTable(), table);
        check("column", m.getColumn(), "version");
        check("hint says to retry", m.getHint() != null && m.getHint().contains("retry"), true);
    }

    /* A write that may fail, for expectConflict. */
    interface Write {
        void run() throws SQLException;
    }

    /* Run a write expected to be refused with 40V01; returns the error, or null if it succeeded. */
    static PSQLException expectConflict(Connection conn, Write write) throws SQLException {
        try {
            write.run();
            conn.commit();
            return null;
        } catch (PSQLException e) {
            conn.rollback();
            if (!"40V01".equals(e.getSQLState()))
                throw e;
            return e;
        }
    }

    public static void main(String[] args) throws Exception {
        if (env("PGHOST", "localhost").startsWith("/")) {
            System.err.println("PGHOST is a unix socket directory (" + System.getenv("PGHOST")
                               + "); pgJDBC needs a TCP host and port.");
            System.exit(2);
        }
        try (Connection admin = connect("admin", true)) {
            exec(admin, "CREATE EXTENSION IF NOT EXISTS occ");
            String schema = queryOne(admin, "SELECT current_schema()");
            try {
                try (Connection alice = connect("alice", false);
                     Connection bob = connect("bob", false)) {
                    accounts(admin, alice, bob, schema);
                    documents(admin, alice, bob, schema);
                }
            } finally {
                /* Alice and Bob are gone, with any transaction they left open. */
                exec(admin, "DROP TABLE IF EXISTS " + ACCOUNTS + ", " + DOCS);
            }
        }
        say("");
        if (!failures.isEmpty()) {
            say("FAILED: " + failures.size() + " check(s) did not hold: "
                + String.join(", ", failures));
            System.exit(1);
        }
        say("All checks held.");
    }

    /* Parts 1 and 2: the bank account, and closing it. */
    static void accounts(Connection admin, Connection alice, Connection bob, String schema)
        throws SQLException {
        say("== Part 1: two clients, one account");
        exec(admin, "DROP TABLE IF EXISTS " + ACCOUNTS);
        exec(admin, "CREATE TABLE " + ACCOUNTS + " (id int PRIMARY KEY, owner text, balance int)");
        exec(admin, "INSERT INTO " + ACCOUNTS + " VALUES (1, 'Alice and Bob', 100)");
        exec(admin, "SELECT occ.enable('" + ACCOUNTS + "')");
        say("Table " + ACCOUNTS + " holds account 1 with balance 100; occ.enable added");
        say("the column \"version\", which starts at 1 and grows by 1 with every UPDATE.");

        long[] a = readBalance(alice, "Alice");
        long[] b = readBalance(bob, "Bob");
        check("both read version 1", a[1] + "," + b[1], "1,1");

        say("Alice deposits 50: she writes " + (a[0] + 50) + ", stating version " + a[1]
            + ", and commits.");
        check("Alice's UPDATE changed one row", writeBalance(alice, a[0] + 50, a[1]), 1);

        say("Bob withdraws 30 from the balance he read: he writes " + (b[0] - 30)
            + ", stating version " + b[1] + ".");
        PSQLException e = expectConflict(bob, () -> writeBalance(bob, b[0] - 30, b[1]));
        if (e == null) {
            say("    [FAILED] Bob's stale write was accepted: Alice's deposit is lost");
            failures.add("stale write refused");
        } else {
            say("The server refuses Bob's write; pgJDBC throws:");
            describe(e);
            say("pgJDBC has no subclass for class 40: it is a plain PSQLException, so code");
            say("that retries must look at getSQLState().");
            checkConflict(e, ACCOUNTS, schema, "update of");
            check("detail", e.getServerErrorMessage().getDetail(),
                  "Key (id)=(1) has version 2, but the update stated version 1.");
            check("exception class", e.getClass().getName(), "org.postgresql.util.PSQLException");
            SQLException plain = e;
            say("    (instanceof SQLTransientException: " + (plain instanceof SQLTransientException)
                + ", instanceof SQLTransactionRollbackException: "
                + (plain instanceof SQLTransactionRollbackException) + ")");
        }
        check("account 1 keeps Alice's write (balance,version)",
              queryOne(admin, "SELECT balance || ',' || version FROM " + ACCOUNTS), "150,2");

        say("Bob re-reads and retries.");
        int rows = 0;
        for (int attempt = 1; attempt <= 5 && rows == 0; attempt++) {
            long[] again = readBalance(bob, "Bob");
            say("Bob writes " + (again[0] - 30) + ", stating version " + again[1]
                + " (attempt " + attempt + ").");
            try {
                rows = writeBalance(bob, again[0] - 30, again[1]);
            } catch (PSQLException retryError) {
                if (!"40V01".equals(retryError.getSQLState()))
                    throw retryError;
                say("Refused again; Bob reads once more.");
            }
        }
        check("Bob's retry changed one row", rows, 1);
        if (check("account 1 holds 100 + 50 - 30 (balance,version)",
                  queryOne(admin, "SELECT balance || ',' || version FROM " + ACCOUNTS), "120,3"))
            say("Both changes are kept: no update was lost.");

        say("");
        say("== Part 2: a DELETE states the version through occ.if_match");
        say("A DELETE assigns no column; it states the version it expects with");
        say("SET LOCAL occ.if_match (an HTTP entity tag), inside its transaction.");
        say("Alice, still holding version 2 from her own write, tries to close the account:");
        e = expectConflict(alice, () -> deleteIfMatch(alice, 2));
        if (e != null) {
            say("    refused: " + e.getSQLState() + " " + e.getServerErrorMessage().getMessage());
            say("    " + e.getServerErrorMessage().getDetail());
        }
        check("stale DELETE refused with SQLSTATE", e == null ? null : e.getSQLState(), "40V01");
        if (e != null)
            checkConflict(e, ACCOUNTS, schema, "delete from");
        check("occ.if_match is unset once the transaction ended",
              queryOne(alice, "SELECT current_setting('occ.if_match')"), "");
        alice.commit();

        long[] now = readBalance(bob, "Bob");
        say("Bob closes it, stating the version he just read, \"" + now[1] + "\":");
        int deleted = deleteIfMatch(bob, now[1]);
        bob.commit();
        check("Bob's DELETE removed one row", deleted, 1);
        check("rows left", queryOne(admin, "SELECT count(*) FROM " + ACCOUNTS), "0");
    }

    /* DELETE account 1 if its version is still the one given; no commit. */
    static int deleteIfMatch(Connection conn, long version) throws SQLException {
        /*
         * SET takes no bind parameters; a long cannot carry SQL, so the
         * literal is safe.  With a string from outside, use the
         * parameterized form: SELECT set_config('occ.if_match', ?, true).
         */
        exec(conn, "SET LOCAL occ.if_match = '\"" + version + "\"'");
        try (PreparedStatement ps = conn.prepareStatement(
                "DELETE FROM " + ACCOUNTS + " WHERE id = ?")) {
            ps.setInt(1, 1);
            return ps.executeUpdate();
        }
    }

    /* Read a document's title and version; ends the transaction. */
    static Object[] readDoc(Connection conn, String who) throws SQLException {
        Object[] row = new Object[2];
        try (PreparedStatement ps = conn.prepareStatement(
                "SELECT title, version FROM " + DOCS + " WHERE id = ?")) {
            ps.setInt(1, 1);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next())
                    throw new IllegalStateException("document 1 is gone");
                row[0] = rs.getString(1);
                row[1] = rs.getLong(2);
            }
        }
        conn.commit();
        say(who + " reads document 1: title \"" + row[0] + "\", version " + row[1]);
        return row;
    }

    /*
     * What an ORM sends for an entity with a @Version field: the new version
     * is read + 1, and the WHERE clause matches only the version read.
     * Returns the number of rows updated; the caller commits.
     */
    static int ormUpdate(Connection conn, String title, long read) throws SQLException {
        try (PreparedStatement ps = conn.prepareStatement(
                "UPDATE " + DOCS + " SET title = ?, version = ? WHERE id = ? AND version = ?")) {
            ps.setString(1, title);
            ps.setLong(2, read + 1);
            ps.setInt(3, 1);
            ps.setLong(4, read);
            return ps.executeUpdate();
        }
    }

    /* The same without the WHERE on the version: the version is only stated. */
    static int updateWithoutWhere(Connection conn, String title, long version) throws SQLException {
        try (PreparedStatement ps = conn.prepareStatement(
                "UPDATE " + DOCS + " SET title = ?, version = ? WHERE id = ?")) {
            ps.setString(1, title);
            ps.setLong(2, version);
            ps.setInt(3, 1);
            return ps.executeUpdate();
        }
    }

    /* Part 3: the ORM convention through plain JDBC. */
    static void documents(Connection admin, Connection alice, Connection bob, String schema)
        throws SQLException {
        say("");
        say("== Part 3: the ORM convention, SET version = read + 1 ... WHERE version = read");
        exec(admin, "DROP TABLE IF EXISTS " + DOCS);
        exec(admin, "CREATE TABLE " + DOCS + " (id int PRIMARY KEY, title text)");
        exec(admin, "INSERT INTO " + DOCS + " VALUES (1, 'draft')");
        exec(admin, "SELECT occ.enable('" + DOCS + "')");

        Object[] a = readDoc(alice, "Alice");
        Object[] b = readDoc(bob, "Bob");
        long bobRead = (Long) b[1];

        say("Alice saves \"Alice's title\": SET title = ?, version = "
            + ((Long) a[1] + 1) + " WHERE id = 1 AND version = " + a[1]);
        int rows = ormUpdate(alice, "Alice's title", (Long) a[1]);
        alice.commit();
        check("Alice's UPDATE changed one row", rows, 1);

        say("Bob saves \"Bob's title\" from his stale read: SET ..., version = "
            + (bobRead + 1) + " WHERE id = 1 AND version = " + bobRead);
        rows = ormUpdate(bob, "Bob's title", bobRead);
        bob.commit();
        check("Bob's stale ORM-style UPDATE changed no row", rows, 0);
        say("0 rows: his WHERE clause no longer matches.  No error is raised; the");
        say("application must count the rows and treat 0 as a conflict, as ORMs do");
        say("(Hibernate throws StaleObjectStateException, JPA OptimisticLockException).");

        say("Now suppose Bob's code forgot the WHERE clause but still states the");
        say("version he read: SET title = ?, version = " + bobRead + " WHERE id = 1");
        PSQLException e = expectConflict(bob,
                                         () -> updateWithoutWhere(bob, "Bob's title", bobRead));
        if (e != null)
            describe(e);
        check("stale write without WHERE refused with SQLSTATE",
              e == null ? null : e.getSQLState(), "40V01");
        if (e != null) {
            checkConflict(e, DOCS, schema, "update of");
            check("detail", e.getServerErrorMessage().getDetail(),
                  "Key (id)=(1) has version 2, but the update stated version 1.");
        }

        /*
         * Sent without its WHERE clause, the ORM's "read + 1" is accepted as
         * long as it equals the current version, which is the case exactly
         * when one write came in between: occ cannot tell that apart from a
         * writer that read the current row (README: ORM writers must keep
         * their WHERE version = read).  Two writes behind, it is refused.
         */
        Object[] a2 = readDoc(alice, "Alice");
        say("Alice saves once more, the ORM way.");
        rows = ormUpdate(alice, "Alice's second title", (Long) a2[1]);
        alice.commit();
        check("Alice's second UPDATE changed one row", rows, 1);
        say("Bob, still holding version " + bobRead + ", sends the ORM's read + 1 without the");
        say("WHERE clause: SET title = ?, version = " + (bobRead + 1) + " WHERE id = 1");
        e = expectConflict(bob, () -> updateWithoutWhere(bob, "Bob's title", bobRead + 1));
        if (e != null)
            say("    refused: " + e.getSQLState() + " " + e.getServerErrorMessage().getDetail());
        check("read + 1 two writes behind refused with SQLSTATE",
              e == null ? null : e.getSQLState(), "40V01");
        check("document 1 keeps Alice's second write (title,version)",
              queryOne(admin, "SELECT title || ',' || version FROM " + DOCS),
              "Alice's second title,3");

        say("Bob re-reads and saves again the ORM way.");
        Object[] b2 = readDoc(bob, "Bob");
        rows = ormUpdate(bob, "Bob's title", (Long) b2[1]);
        bob.commit();
        check("Bob's fresh ORM-style UPDATE changed one row", rows, 1);
        check("document 1 holds Bob's title (title,version)",
              queryOne(admin, "SELECT title || ',' || version FROM " + DOCS), "Bob's title,4");
    }
}
