package com.cdcexport.export.tables;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.jdbc.core.JdbcTemplate;

import com.cdcexport.support.Api;
import com.cdcexport.support.IntegrationTest;
import com.cdcexport.support.ServiceProcess;
import com.cdcexport.support.TestDatabase;

/**
 * The service pointed at a database that already holds an application's tables, as its users run it: it keeps to
 * its own schema, adopts an existing users table, captures other tables without changing them, and says in one
 * line what is missing when it cannot.
 */
class ExistingDatabaseIT {

    private static String url;
    private static JdbcTemplate db;
    private static Path output;

    @BeforeAll
    static void anApplicationsDatabase() throws IOException {
        url = TestDatabase.scratchDatabase("existing");
        db = TestDatabase.jdbc(url);
        db.execute("""
                CREATE TABLE public.users (
                    id BIGSERIAL PRIMARY KEY, name VARCHAR(255) NOT NULL, email VARCHAR(255) NOT NULL UNIQUE,
                    created_at TIMESTAMPTZ NOT NULL, updated_at TIMESTAMPTZ NOT NULL,
                    is_deleted BOOLEAN NOT NULL DEFAULT FALSE);
                INSERT INTO public.users (name, email, created_at, updated_at)
                     VALUES ('Ada', 'ada@example.com', now(), now()), ('Bob', 'bob@example.com', now(), now());
                CREATE TABLE public.invoices (number TEXT PRIMARY KEY, amount NUMERIC(10, 2) NOT NULL);
                INSERT INTO public.invoices VALUES ('A-1', 12.30);
                -- The application's own table of a name the service also uses: it must never be touched.
                CREATE TABLE public.watermarks (id INT PRIMARY KEY, level TEXT);
                INSERT INTO public.watermarks VALUES (1, 'high');
                CREATE TABLE public.audit_log (at TIMESTAMPTZ, message TEXT);
                """);
        output = Files.createTempDirectory("cdc-existing-db");
    }

    @AfterAll
    static void dropIt() {
        TestDatabase.dropScratchDatabase(url);
    }

    private static Map<String, String> environment(String tables) {
        return Map.of("DATABASE_URL", url, "EXPORT_TABLES", tables, "SEED_USERS", "100",
                "EXPORT_OUTPUT_DIR", output.toString());
    }

    private static List<String> publicTables() {
        return db.queryForList("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
                + " ORDER BY 1", String.class);
    }

    private static List<String> columnsOf(String table) {
        return db.queryForList("SELECT column_name || ' ' || data_type FROM information_schema.columns"
                + " WHERE table_schema = 'public' AND table_name = ? ORDER BY ordinal_position", String.class, table);
    }

    @Test
    void twoInstancesStartTogetherInTheirOwnSchemaAndAdoptTheTablesAsTheyAre() throws Exception {
        List<String> users = columnsOf("users");
        List<String> invoices = columnsOf("invoices");
        List<String> publicTables = publicTables();

        CompletableFuture<ServiceProcess> first = CompletableFuture.supplyAsync(
                () -> ServiceProcess.start(environment("users,public.invoices")));
        CompletableFuture<ServiceProcess> second = CompletableFuture.supplyAsync(
                () -> ServiceProcess.start(environment("users,public.invoices")));
        try (ServiceProcess a = first.get(); ServiceProcess b = second.get()) {
            assertThat(db.queryForObject("SELECT count(*) FROM public.users", Long.class))
                    .as("an existing users table is adopted, never seeded").isEqualTo(2);
            assertThat(columnsOf("users")).isEqualTo(users);
            assertThat(columnsOf("invoices")).isEqualTo(invoices);
            assertThat(db.queryForList("SELECT level FROM public.watermarks", String.class)).containsExactly("high");
            assertThat(publicTables()).as("nothing of the service's in public").isEqualTo(publicTables);
            assertThat(db.queryForObject("SELECT count(*) FROM cdc.flyway_schema_history WHERE success", Long.class))
                    .isPositive();

            Api api = a.api();
            Api.Response full = api.post("/exports/full?table=invoices", "warehouse");
            assertThat(full.status()).as(full.body()).isEqualTo(202);
            awaitCompleted(full.field("jobId"));
            db.update("UPDATE public.invoices SET amount = 99.99 WHERE number = 'A-1'");
            db.update("INSERT INTO public.invoices VALUES ('A-2', 1)");
            Api.Response delta = b.api().post("/exports/delta?table=public.invoices", "warehouse");
            awaitCompleted(delta.field("jobId"));
            assertThat(IntegrationTest.readCsv(output.resolve(delta.field("outputFilename"))).stream()
                    .map(r -> String.join(",", r))).containsExactly("operation,number,amount",
                    "UPDATE,A-1,99.99", "INSERT,A-2,1.00");
        }
    }

    @Test
    void aTableWithoutPrimaryKeyOrThatDoesNotExistStopsStartUpNamingIt() {
        assertThat(ServiceProcess.startExpectingExit(environment("users,audit_log")))
                .contains("public.audit_log, which has no primary key");
        assertThat(ServiceProcess.startExpectingExit(environment("users,public.nowhere")))
                .contains("public.nowhere, which does not exist");
    }

    @Test
    void withoutTheTriggerPrivilegeStartUpNamesItAndTheScriptADbaCanRunInstead() {
        db.execute("DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'cdc_limited') THEN "
                + "CREATE ROLE cdc_limited LOGIN; END IF; END $$");
        db.execute("CREATE TABLE IF NOT EXISTS public.payments (id INT PRIMARY KEY, amount INT)");
        db.execute("GRANT CREATE, CONNECT ON DATABASE \"" + db.queryForObject("SELECT current_database()", String.class)
                + "\" TO cdc_limited");
        db.execute("GRANT SELECT ON public.payments TO cdc_limited");
        String limited = url.replaceFirst("user=[^&]*", "user=cdc_limited");
        Map<String, String> environment = Map.of("DATABASE_URL", limited, "EXPORT_TABLES", "public.payments",
                "CDC_SCHEMA", "cdc_limited", "EXPORT_OUTPUT_DIR", output.toString());

        assertThat(ServiceProcess.startExpectingExit(environment))
                .contains("Cannot install change capture on public.payments: the role cdc_limited lacks the TRIGGER "
                        + "privilege")
                .contains("SELECT cdc_limited.install_capture('public.payments')");

        db.execute("SELECT cdc_limited.install_capture('public.payments')");
        try (ServiceProcess service = ServiceProcess.start(environment)) {
            db.update("INSERT INTO public.payments VALUES (1, 5)");
            assertThat(db.queryForObject("SELECT count(*) FROM cdc_limited.change_log", Long.class))
                    .as("the owner's writes are captured through the DBA's triggers").isEqualTo(1);
        }
    }

    private static void awaitCompleted(String jobId) {
        for (int i = 0; i < 600; i++) {
            String status = db.queryForObject("SELECT status FROM cdc.export_jobs WHERE id = ?::uuid", String.class,
                    jobId);
            if (status.equals("completed")) {
                return;
            }
            assertThat(status).isIn("queued", "running");
            IntegrationTest.sleep(100);
        }
        throw new AssertionError("job " + jobId + " did not complete");
    }
}
