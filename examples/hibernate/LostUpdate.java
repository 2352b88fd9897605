/*
 * examples/hibernate/LostUpdate.java -- occ under Hibernate's own optimistic
 * locking (Hibernate 3.6, Debian's libhibernate3-java).
 *
 * Part 1: Account has an @Version int.  Hibernate's flush sends
 * UPDATE ... SET ..., version = read + 1 WHERE id = ? AND version = read and
 * DELETE ... WHERE id = ? AND version = read, and raises
 * StaleObjectStateException when no row matched.  occ.enable adopts the
 * column, so writers that bypass Hibernate are checked too.
 *
 * Part 2: Note has an @Version java.sql.Timestamp: Hibernate sets it from
 * the JVM's clock on every save (a proposal occ keeps) and states the old one
 * in the WHERE clause; occ protects it as a timestamp version.
 *
 * Part 3: Doc leaves its version to occ: Hibernate maps it read-only and
 * reads it back after each write; the application keeps it as an ETag,
 * states it with SET LOCAL occ.if_match, and a few lines turn occ's 40V01
 * into Hibernate's own StaleObjectStateException.
 *
 * Each part runs with the table in lax and in strict mode.
 *
 * Connects over TCP to PGHOST:PGPORT as PGUSER (password from PGPASSWORD if
 * set) to PGDATABASE; pgJDBC cannot use a unix socket.  Creates its own
 * tables, drops them at the end, and exits non-zero if anything does not
 * happen as told.  Debian 12: apt-get install default-jdk-headless
 * libhibernate3-java libjavassist-java libpostgresql-jdbc-java; then
 *
 *   CP=<the jars HIBERNATE_CP lists in examples/run.sh>
 *   javac -cp "$CP" -d /tmp/classes examples/hibernate/LostUpdate.java
 *   java -cp "$CP:/tmp/classes" LostUpdate
 */

import java.io.Serializable;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Properties;

import javax.persistence.Column;
import javax.persistence.Entity;
import javax.persistence.Id;
import javax.persistence.Table;
import javax.persistence.Version;

import org.hibernate.JDBCException;
import org.hibernate.Session;
import org.hibernate.SessionFactory;
import org.hibernate.StaleObjectStateException;
import org.hibernate.Transaction;
import org.hibernate.annotations.Generated;
import org.hibernate.annotations.GenerationTime;
import org.hibernate.cfg.Configuration;
import org.hibernate.cfg.EJB3NamingStrategy;

public class LostUpdate {
    static final long PID = ProcessHandle.current().pid();
    static final List<String> failures = new ArrayList<>();

    /* ---- The application's entities -------------------------------------- */

    @Entity
    @Table(name = "occ_example_hibernate_accounts")
    public static class Account {
        @Id public long id;
        public String owner;
        public int balance;
        @Version public int version;        // Hibernate's optimistic locking
    }

    @Entity
    @Table(name = "occ_example_hibernate_notes")
    public static class Note {
        @Id public long id;
        public String body;
        @Version @Column(name = "updated_at") public Timestamp updatedAt;
    }

    @Entity
    @Table(name = "occ_example_hibernate_docs")
    public static class Doc {
        @Id public long id;
        public String body;
        /* occ's version: never written by Hibernate, read back after each write. */
        @Generated(GenerationTime.ALWAYS)
        @Column(insertable = false, updatable = false) public Long version;
    }

    /* Each table name gets the process id, so runs never collide. */
    static class PidTables extends EJB3NamingStrategy {
        @Override
        public String tableName(String tableName) {
            return tableName + "_" + PID;
        }
    }

    static final String ACCOUNTS = "occ_example_hibernate_accounts_" + PID;
    static final String NOTES = "occ_example_hibernate_notes_" + PID;
    static final String DOCS = "occ_example_hibernate_docs_" + PID;

    /*
     * The application's few lines: flush a session's changes stating the
     * version the client read (its ETag) through occ.if_match, and turn occ's
     * 40V01 into Hibernate's own StaleObjectStateException.  The caller
     * commits or rolls back.
     */
    static void flushIfMatch(Session s, Object entity, String etag) {
        String name = s.getEntityName(entity);
        Serializable id = s.getIdentifier(entity);
        s.doWork(c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT set_config('occ.if_match', ?, true)")) {
                ps.setString(1, etag);
                ps.execute();
            }
        });
        try {
            s.flush();
        } catch (JDBCException e) {         // 40V01 arrives as a GenericJDBCException
            if (!"40V01".equals(e.getSQLState()))
                throw e;
            throw new StaleObjectStateException(name, id);
        }
    }

    /* ---- Test plumbing ------------------------------------------------------ */

    static void say(String text) {
        System.out.println(text);
    }

    static boolean check(String what, Object got, Object expected) {
        if (Objects.equals(got, expected)) {
            say("    [ok] " + what + ": " + got);
            return true;
        }
        say("    [FAILED] " + what + ": expected " + expected + ", got " + got);
        failures.add(what);
        return false;
    }

    interface Action {
        void run() throws Exception;
    }

    static String sqlState(Throwable e) {
        for (; e != null; e = e.getCause())
            if (e instanceof SQLException)
                return ((SQLException) e).getSQLState();
        return null;
    }

    /* Run the action; return what it threw (null if nothing), saying so. */
    static Throwable outcome(Action action) {
        try {
            action.run();
            say("    -> no error");
            return null;
        } catch (Exception e) {
            String state = sqlState(e);
            say("    -> " + e.getClass().getName() + (state != null ? " (SQLSTATE " + state + ")" : "")
                + ": " + String.valueOf(e.getMessage()).lines().findFirst().orElse(""));
            return e;
        }
    }

    /* Check that the action throws a klass, and (if state is given) with that SQLSTATE. */
    static void checkThrows(String what, Class<?> klass, String state, Action action) {
        Throwable e = outcome(action);
        String name = e == null ? null : klass.isInstance(e) ? klass.getName() : e.getClass().getName();
        if (state == null)
            check(what, name, klass.getName());
        else
            check(what, Arrays.asList(name, e == null ? null : sqlState(e)), Arrays.asList(klass.getName(), state));
    }

    static String env(String name, String fallback) {
        String value = System.getenv(name);
        return value == null || value.isEmpty() ? fallback : value;
    }

    static String url() {
        return "jdbc:postgresql://" + env("PGHOST", "localhost") + ":" + env("PGPORT", "5432") + "/"
            + env("PGDATABASE", env("PGUSER", System.getProperty("user.name")));
    }

    static Connection connect(String who) throws SQLException {
        Properties props = new Properties();
        props.setProperty("user", env("PGUSER", System.getProperty("user.name")));
        props.setProperty("ApplicationName", who);
        if (System.getenv("PGPASSWORD") != null)
            props.setProperty("password", System.getenv("PGPASSWORD"));
        Connection conn = DriverManager.getConnection(url(), props);
        conn.setAutoCommit(true);
        return conn;
    }

    /* Another client that bypasses Hibernate: plain JDBC, autocommit. */
    static Connection raw;

    static int rawUpdate(String sql, Object... params) throws SQLException {
        try (PreparedStatement ps = raw.prepareStatement(sql)) {
            for (int i = 0; i < params.length; i++)
                ps.setObject(i + 1, params[i]);
            return ps.executeUpdate();
        }
    }

    static List<Object> rawRow(String sql, Object... params) throws SQLException {
        try (PreparedStatement ps = raw.prepareStatement(sql)) {
            for (int i = 0; i < params.length; i++)
                ps.setObject(i + 1, params[i]);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next())
                    return null;
                List<Object> row = new ArrayList<>();
                for (int i = 1; i <= rs.getMetaData().getColumnCount(); i++)
                    row.add(rs.getObject(i));
                return row;
            }
        }
    }

    static SessionFactory sf;

    /* Run work in a session and transaction of its own; commit. */
    interface Work<T> {
        T run(Session s) throws Exception;
    }

    static <T> T inSession(Work<T> work) throws Exception {
        Session s = sf.openSession();
        Transaction tx = s.beginTransaction();
        try {
            T result = work.run(s);
            tx.commit();
            return result;
        } catch (Exception e) {
            if (tx.isActive())
                tx.rollback();
            throw e;
        } finally {
            s.close();
        }
    }

    static void setMode(String table, String mode) throws SQLException {
        try (Statement st = raw.createStatement()) {
            st.execute("SELECT occ.set_mode('" + table + "', '" + mode + "')");
        }
    }

    /* ---- Part 1: @Version int ---------------------------------------------- */

    static void accounts(String mode, long id) throws Exception {
        say("");
        say("== Hibernate's @Version int, " + mode + " mode");
        setMode(ACCOUNTS, mode);
        inSession(s -> {
            Account a = new Account();
            a.id = id;
            a.owner = "Alice and Bob";
            a.balance = 100;
            return s.save(a);
        });
        say("Account " + id + " saved with balance 100, version 0.");

        say("a. A save of the current row");
        Account saved = inSession(s -> {
            Account a = (Account) s.get(Account.class, id);
            a.balance = 150;
            return a;
        });
        check("the saved object's version", saved.version, 1);
        check("the row (balance, version): occ advanced it once, not twice",
              rawRow("SELECT balance, version FROM " + ACCOUNTS + " WHERE id = ?", id), Arrays.asList(150, 1));

        say("a2. A row saved twelve times, twelve rows saved and deleted: pgJDBC switches to a named");
        say("    server-side statement after 5 uses, and PostgreSQL to a generic plan after 5 more");
        long busy = id * 1000;
        inSession(s -> {
            Account a = new Account();
            a.id = busy;
            a.owner = "busy";
            return s.save(a);
        });
        for (int i = 0; i < 12; i++)
            inSession(s -> ((Account) s.get(Account.class, busy)).balance++);
        check("a row saved twelve times (balance, version)",
              rawRow("SELECT balance, version FROM " + ACCOUNTS + " WHERE id = ?", busy), Arrays.asList(12, 12));
        for (int i = 1; i <= 12; i++) {
            long other = busy + i;
            inSession(s -> {
                Account a = new Account();
                a.id = other;
                a.owner = "temporary";
                return s.save(a);
            });
            inSession(s -> { s.delete(s.get(Account.class, other)); return null; });
        }
        inSession(s -> { s.delete(s.get(Account.class, busy)); return null; });
        check("thirteen rows deleted", rawRow("SELECT count(*)::int FROM " + ACCOUNTS + " WHERE id >= ?", busy),
              Arrays.asList(0));

        say("b. Alice and Bob load the account in sessions of their own; Alice commits; Bob commits");
        Session alice = sf.openSession();
        Session bob = sf.openSession();
        Transaction aliceTx = alice.beginTransaction();
        Transaction bobTx = bob.beginTransaction();
        Account aliceCopy = (Account) alice.get(Account.class, id);
        Account bobCopy = (Account) bob.get(Account.class, id);
        aliceCopy.balance += 50;
        aliceTx.commit();
        alice.close();
        bobCopy.balance -= 30;
        checkThrows("Bob's stale save", StaleObjectStateException.class, null, bobTx::commit);
        bobTx.rollback();
        bob.close();
        check("the row keeps Alice's save",
              rawRow("SELECT balance, version FROM " + ACCOUNTS + " WHERE id = ?", id), Arrays.asList(200, 2));

        say("c. Writers that bypass Hibernate's locking");
        say("   raw JDBC: UPDATE ... SET balance = 0 WHERE id = ? (states nothing)");
        if (mode.equals("strict")) {
            checkThrows("refused", SQLException.class, "23V01",
                        () -> rawUpdate("UPDATE " + ACCOUNTS + " SET balance = 0 WHERE id = ?", id));
        } else {
            check("lax lets it through, and advances the version",
                  Arrays.asList(rawUpdate("UPDATE " + ACCOUNTS + " SET balance = 0 WHERE id = ?", id),
                                rawRow("SELECT balance, version FROM " + ACCOUNTS + " WHERE id = ?", id)),
                  Arrays.asList(1, Arrays.asList(0, 3)));
            rawUpdate("UPDATE " + ACCOUNTS + " SET balance = 200, version = 3 WHERE id = ?", id);
        }
        say("   raw JDBC: UPDATE ... SET balance = 0, version = 1 WHERE id = ? (stale)");
        checkThrows("refused", SQLException.class, "40V01",
                    () -> rawUpdate("UPDATE " + ACCOUNTS + " SET balance = 0, version = 1 WHERE id = ?", id));
        say("   HQL bulk update (no version): update Account set balance = :b where id = :id");
        Action bulk = () -> inSession(s -> s.createQuery("update LostUpdate$Account set balance = :b where id = :id")
                                      .setInteger("b", 200).setLong("id", id).executeUpdate());
        if (mode.equals("strict"))
            checkThrows("refused", JDBCException.class, "23V01", bulk);
        else
            outcome(bulk);
        say("   HQL 'update versioned' sends version = version + 1, which states the current");
        say("   version: it opts out, in strict too");
        check("update versioned rows", inSession(s -> s.createQuery(
            "update versioned LostUpdate$Account set balance = :b where id = :id")
            .setInteger("b", 200).setLong("id", id).executeUpdate()), 1);

        say("d. delete");
        alice = sf.openSession();
        bob = sf.openSession();
        aliceTx = alice.beginTransaction();
        bobTx = bob.beginTransaction();
        aliceCopy = (Account) alice.get(Account.class, id);
        bobCopy = (Account) bob.get(Account.class, id);
        aliceCopy.balance = 10;
        aliceTx.commit();
        bob.delete(bobCopy);
        checkThrows("Bob's stale delete", StaleObjectStateException.class, null, bobTx::commit);
        bobTx.rollback();
        bob.close();
        check("the row is still there, with Alice's save",
              rawRow("SELECT balance FROM " + ACCOUNTS + " WHERE id = ?", id), Arrays.asList(10));
        aliceTx = alice.beginTransaction();
        alice.delete(aliceCopy);
        aliceTx.commit();
        alice.close();
        check("Alice's delete of the current row removed it",
              rawRow("SELECT balance FROM " + ACCOUNTS + " WHERE id = ?", id), null);

        say("e. A detached object kept across requests (its version is the ETag); another client writes");
        inSession(s -> {
            Account a = new Account();
            a.id = id;
            a.owner = "Carol";
            a.balance = 5;
            return s.save(a);
        });
        Account detached = inSession(s -> (Account) s.get(Account.class, id));
        rawUpdate("UPDATE " + ACCOUNTS + " SET balance = 6 WHERE id = ? AND version = ?", id, detached.version);
        detached.balance = 7;
        checkThrows("session.update(detached) then commit", StaleObjectStateException.class, null,
                    () -> inSession(s -> { s.update(detached); return null; }));
        checkThrows("session.merge(detached) then commit", StaleObjectStateException.class, null,
                    () -> inSession(s -> s.merge(detached)));
        inSession(s -> { s.delete(s.get(Account.class, id)); return null; });
    }

    /* ---- Part 2: @Version Timestamp ---------------------------------------- */

    static void notes(String mode, long id) throws Exception {
        say("");
        say("== Hibernate's @Version Timestamp as occ's timestamp version, " + mode + " mode");
        setMode(NOTES, mode);
        Note created = inSession(s -> {
            Note n = new Note();
            n.id = id;
            n.body = "first";
            s.save(n);
            return n;
        });
        say("Note " + id + " saved; Hibernate set updated_at " + created.updatedAt);
        Thread.sleep(2);

        say("a. A save of the current row: SET body = ?, updated_at = <JVM clock> WHERE id = ? AND updated_at = <read>");
        Note saved = inSession(s -> {
            Note n = (Note) s.get(Note.class, id);
            n.body = "second";
            return n;
        });
        say("    Hibernate set updated_at " + saved.updatedAt);
        check("occ kept that proposal: the row's updated_at equals the object's",
              rawRow("SELECT updated_at FROM " + NOTES + " WHERE id = ?", id).get(0), saved.updatedAt);
        check("and it is later than before", saved.updatedAt.after(created.updatedAt), true);

        say("b. Two sessions load the note; one commits; the other commits");
        Session one = sf.openSession();
        Session two = sf.openSession();
        Transaction oneTx = one.beginTransaction();
        Transaction twoTx = two.beginTransaction();
        Note oneCopy = (Note) one.get(Note.class, id);
        Note twoCopy = (Note) two.get(Note.class, id);
        Thread.sleep(2);
        oneCopy.body = "one";
        oneTx.commit();
        one.close();
        Thread.sleep(2);
        twoCopy.body = "two";
        checkThrows("the stale save", StaleObjectStateException.class, null, twoTx::commit);
        twoTx.rollback();
        two.close();

        say("c. A raw writer that states a stale updated_at");
        checkThrows("refused", SQLException.class, "40V01",
                    () -> rawUpdate("UPDATE " + NOTES + " SET body = 'x', updated_at = ? WHERE id = ?",
                                    created.updatedAt, id));

        say("d. delete: DELETE ... WHERE id = ? AND updated_at = ?");
        Thread.sleep(2);
        one = sf.openSession();
        two = sf.openSession();
        oneTx = one.beginTransaction();
        twoTx = two.beginTransaction();
        oneCopy = (Note) one.get(Note.class, id);
        twoCopy = (Note) two.get(Note.class, id);
        oneCopy.body = "one again";
        oneTx.commit();
        two.delete(twoCopy);
        checkThrows("the stale delete", StaleObjectStateException.class, null, twoTx::commit);
        twoTx.rollback();
        two.close();
        oneTx = one.beginTransaction();
        one.delete(oneCopy);
        oneTx.commit();
        one.close();
        check("the delete of the current row removed it",
              rawRow("SELECT body FROM " + NOTES + " WHERE id = ?", id), null);
    }

    /* ---- Part 3: the version left to occ, stated with occ.if_match ---------- */

    static void docs(String mode, long id) throws Exception {
        say("");
        say("== A version Hibernate does not manage, stated with occ.if_match, " + mode + " mode");
        setMode(DOCS, mode);
        Doc created = inSession(s -> {
            Doc d = new Doc();
            d.id = id;
            d.body = "first";
            s.save(d);
            return d;
        });
        say("Doc " + id + " saved; Hibernate read back occ's version " + created.version);

        if (mode.equals("strict")) {
            say("   A plain save (UPDATE ... SET body = ? WHERE id = ?) states nothing");
            checkThrows("strict refuses it", JDBCException.class, "23V01",
                        () -> inSession(s -> { ((Doc) s.get(Doc.class, id)).body = "plain"; return null; }));
        }

        say("a. The client saves, stating the ETag it kept (\"" + created.version + "\")");
        Doc saved = inSession(s -> {
            Doc d = (Doc) s.get(Doc.class, id);
            d.body = "second";
            flushIfMatch(s, d, "\"" + created.version + "\"");
            return d;
        });
        check("saved; the version Hibernate read back", saved.version, created.version + 1);

        say("b./e. Another client writes; the client saves with the ETag it kept");
        rawUpdate("UPDATE " + DOCS + " SET body = 'theirs', version = ? WHERE id = ?", saved.version, id);
        checkThrows("the save under the stale ETag", StaleObjectStateException.class, null,
                    () -> inSession(s -> {
                        Doc d = (Doc) s.get(Doc.class, id);
                        d.body = "mine";
                        flushIfMatch(s, d, "\"" + saved.version + "\"");
                        return null;
                    }));
        check("the other client's write is kept",
              rawRow("SELECT body FROM " + DOCS + " WHERE id = ?", id), Arrays.asList("theirs"));

        say("d. delete under the stale ETag, then under the current one");
        checkThrows("the stale delete", StaleObjectStateException.class, null,
                    () -> inSession(s -> {
                        Doc d = (Doc) s.get(Doc.class, id);
                        s.delete(d);
                        flushIfMatch(s, d, "\"" + saved.version + "\"");
                        return null;
                    }));
        inSession(s -> {
            Doc d = (Doc) s.get(Doc.class, id);
            s.delete(d);
            flushIfMatch(s, d, "\"" + d.version + "\"");
            return null;
        });
        check("the delete of the current row removed it",
              rawRow("SELECT body FROM " + DOCS + " WHERE id = ?", id), null);
    }

    public static void main(String[] args) throws Exception {
        if (env("PGHOST", "localhost").startsWith("/")) {
            System.err.println("PGHOST is a unix socket directory (" + System.getenv("PGHOST")
                               + "); pgJDBC needs a TCP host and port.");
            System.exit(2);
        }
        raw = connect("raw");
        try {
            try (Statement st = raw.createStatement()) {
                st.execute("CREATE EXTENSION IF NOT EXISTS occ");
                st.execute("CREATE TABLE " + ACCOUNTS + " (id bigint PRIMARY KEY, owner text NOT NULL,"
                           + " balance integer NOT NULL, version integer NOT NULL)");
                st.execute("CREATE TABLE " + NOTES + " (id bigint PRIMARY KEY, body text NOT NULL,"
                           + " updated_at timestamptz NOT NULL)");
                st.execute("CREATE TABLE " + DOCS + " (id bigint PRIMARY KEY, body text NOT NULL)");
                st.execute("SELECT occ.enable('" + ACCOUNTS + "', 'version')");
                st.execute("SELECT occ.enable('" + NOTES + "', 'updated_at', 'timestamp')");
                st.execute("SELECT occ.enable('" + DOCS + "')");
            }
            Configuration cfg = new Configuration()
                .setProperty("hibernate.dialect", "org.hibernate.dialect.PostgreSQLDialect")
                .setProperty("hibernate.connection.driver_class", "org.postgresql.Driver")
                .setProperty("hibernate.connection.url", url())
                .setProperty("hibernate.connection.username", env("PGUSER", System.getProperty("user.name")))
                .setProperty("hibernate.connection.ApplicationName", "hibernate")
                .setProperty("hibernate.connection.pool_size", "4")
                .setNamingStrategy(new PidTables())
                .addAnnotatedClass(Account.class)
                .addAnnotatedClass(Note.class)
                .addAnnotatedClass(Doc.class);
            if (System.getenv("PGPASSWORD") != null)
                cfg.setProperty("hibernate.connection.password", System.getenv("PGPASSWORD"));
            sf = cfg.buildSessionFactory();
            say("Hibernate " + Configuration.class.getPackage().getImplementationVersion() + ", Java "
                + System.getProperty("java.version"));
            say("Tables " + ACCOUNTS + " (occ on version), " + NOTES + " (occ on updated_at), "
                + DOCS + " (occ's own version).");
            long id = 1;
            for (String mode : new String[] {"lax", "strict"}) {
                for (String part : new String[] {"accounts", "notes", "docs"}) {
                    try {
                        if (part.equals("accounts"))
                            accounts(mode, id++);
                        else if (part.equals("notes"))
                            notes(mode, id++);
                        else
                            docs(mode, id++);
                    } catch (Exception e) {
                        say("[FAILED] unexpected " + e);
                        for (Throwable c = e.getCause(); c != null; c = c.getCause())
                            say("    caused by " + c);
                        failures.add(part + " (" + mode + "): unexpected error");
                    }
                }
            }
        } finally {
            if (sf != null)
                sf.close();
            try (Statement st = raw.createStatement()) {
                st.execute("DROP TABLE IF EXISTS " + ACCOUNTS + ", " + NOTES + ", " + DOCS);
            }
            raw.close();
        }
        say("");
        if (failures.isEmpty()) {
            say("All checks passed.");
        } else {
            say(failures.size() + " check(s) FAILED: " + String.join("; ", failures));
            System.exit(1);
        }
    }
}
