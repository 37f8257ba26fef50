package com.cdcexport.export;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.api.Test;

import com.cdcexport.support.IntegrationTest;

class DeltaExportTest extends IntegrationTest {

    @Test
    void deltaMarksInsertUpdateAndSoftDelete() {
        long updated = insertUser("Ada", "ada@example.com");
        long softDeleted = insertUser("Bob", "bob@example.com");
        insertUser("Unchanged", "same@example.com");
        export("full", "warehouse");

        jdbc.update("UPDATE users SET name = 'Ada L.' WHERE id = ?", updated);
        jdbc.update("UPDATE users SET is_deleted = TRUE WHERE id = ?", softDeleted);
        long inserted = insertUser("Cid", "cid@example.com");

        List<String[]> rows = export("delta", "warehouse");

        assertThat(rows.get(0)).containsExactly(
                "operation", "id", "name", "email", "created_at", "updated_at", "is_deleted");
        assertThat(rows).hasSize(4);
        assertThat(rows.get(1)).startsWith("UPDATE", String.valueOf(updated), "Ada L.");
        assertThat(rows.get(2)).startsWith("DELETE", String.valueOf(softDeleted), "Bob");
        assertThat(rows.get(2)[6]).isEqualTo("true");
        assertThat(rows.get(3)).startsWith("INSERT", String.valueOf(inserted), "Cid");
    }

    @Test
    void deltaReportsHardDeleteAsDelete() {
        long ada = insertUser("Ada", "ada@example.com");
        export("full", "warehouse");

        jdbc.update("DELETE FROM users WHERE id = ?", ada);

        List<String[]> rows = export("delta", "warehouse");
        assertThat(rows).hasSize(2);
        assertThat(rows.get(1)).startsWith("DELETE", String.valueOf(ada), "Ada", "ada@example.com");
        assertThat(rows.get(1)[6]).isEqualTo("true");
    }

    @Test
    void softDeleteThenRestoreIsDeleteThenUpdate() {
        long ada = insertUser("Ada", "ada@example.com");
        export("full", "warehouse");

        jdbc.update("UPDATE users SET is_deleted = TRUE WHERE id = ?", ada);
        assertThat(column(export("delta", "warehouse"), "operation")).containsExactly("DELETE");

        jdbc.update("UPDATE users SET is_deleted = FALSE WHERE id = ?", ada);
        assertThat(column(export("delta", "warehouse"), "operation")).containsExactly("UPDATE");
    }

    @Test
    void deltaWithoutWatermarkExportsEveryRowWithItsOperation() {
        insertUser("Ada", "ada@example.com");
        long bob = insertUser("Bob", "bob@example.com");
        jdbc.update("UPDATE users SET is_deleted = TRUE WHERE id = ?", bob);

        assertThat(column(export("delta", "newcomer"), "operation")).containsExactly("INSERT", "DELETE");
    }

    @Test
    void deltaIsEmptyWhenNothingChanged() {
        insertUser("Ada", "ada@example.com");
        export("delta", "warehouse");

        assertThat(export("delta", "warehouse")).hasSize(1);
    }
}
