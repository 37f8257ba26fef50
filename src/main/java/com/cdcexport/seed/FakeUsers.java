package com.cdcexport.seed;

import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Locale;
import java.util.Random;
import java.util.stream.IntStream;

import net.datafaker.Faker;

/**
 * Realistic users, fast: datafaker fills pools of first and last names once, and each row combines them, so a
 * million rows cost a million array lookups rather than a million faker calls. Emails carry the row number,
 * which makes them unique without a lookup.
 */
final class FakeUsers {

    private static final int POOL = 2_000;
    private static final String[] DOMAINS = {"example.com", "example.org", "example.net", "mail.test"};
    static final Duration HISTORY = Duration.ofDays(30);

    private final Random random;
    private final String[] firstNames;
    private final String[] lastNames;
    private final long nowMicros;
    private final long historyMicros = HISTORY.toNanos() / 1_000;

    FakeUsers(long seed, Instant now) {
        this.random = new Random(seed);
        Faker faker = new Faker(Locale.ENGLISH, new Random(seed));
        this.firstNames = IntStream.range(0, POOL).mapToObj(i -> faker.name().firstName()).toArray(String[]::new);
        this.lastNames = IntStream.range(0, POOL).mapToObj(i -> faker.name().lastName()).toArray(String[]::new);
        this.nowMicros = ChronoUnit.MICROS.between(Instant.EPOCH, now);
    }

    /**
     * Row {@code n}: name, email, created_at, updated_at, is_deleted. created_at falls in the last 30 days;
     * about 40% of rows were updated later, and 2% are soft-deleted (a deletion is an update too).
     */
    String[] row(long n) {
        String first = firstNames[random.nextInt(POOL)];
        String last = lastNames[random.nextInt(POOL)];
        long created = nowMicros - (long) (random.nextDouble() * historyMicros);
        boolean deleted = random.nextInt(100) < 2;
        boolean updated = deleted || random.nextInt(100) < 40;
        long updatedAt = updated ? created + 1 + (long) (random.nextDouble() * (nowMicros - created)) : created;
        return new String[] {
                first + " " + last,
                (localPart(first) + "." + localPart(last) + "." + n + "@" + DOMAINS[(int) (n % DOMAINS.length)]),
                micros(created),
                micros(updatedAt),
                deleted ? "true" : "false"};
    }

    private static String localPart(String name) {
        return name.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]", "");
    }

    private static String micros(long epochMicros) {
        return Instant.EPOCH.plus(epochMicros, ChronoUnit.MICROS).toString();
    }
}
