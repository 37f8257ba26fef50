# syntax=docker/dockerfile:1
# Build stage: dependencies first, so code changes do not re-download them.
FROM maven:3.9-eclipse-temurin-17 AS build
WORKDIR /build
COPY pom.xml .
RUN mvn -B -q dependency:go-offline
COPY src ./src
RUN mvn -B -q package -DskipTests

# Run stage: a JRE, the jar extracted and a class-data-sharing (CDS) archive, as an unprivileged user.
FROM eclipse-temurin:17-jre
RUN groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home app \
 && mkdir -p /app/output \
 && chown -R app:app /app
WORKDIR /app
COPY --from=build /build/target/cdc-export-*.jar /tmp/app.jar
# An extracted jar (app.jar + lib/) loads classes faster than a nested one, and a CDS archive of the classes a
# start-up loads skips most of class loading and verification: start-up to healthy falls from ~10 s to ~4 s
# (docs/benchmarks.md). The service runs with both JIT compilers: C1 alone would start it ~1 s sooner, but its
# code hashes the manifest's SHA-256 and handles COPY's rows at 2-3x the CPU, which a full export pays on every
# million rows (docs/benchmarks.md, "The export path at the machine's limit").
RUN java -Djarmode=tools -jar /tmp/app.jar extract --destination /tmp/extracted \
 && mv /tmp/extracted/cdc-export-*.jar /app/app.jar && mv /tmp/extracted/lib /app/lib && rm -rf /tmp/extracted /tmp/app.jar
USER app
# The training run starts the application context once and exits (spring.context.exit=onRefresh); with no
# DATABASE_URL it uses the embedded PostgreSQL, which is why it runs as the unprivileged user.
RUN DATABASE_URL= EMBEDDED_DATA_DIR=/tmp/cds-pg EXPORT_OUTPUT_DIR=/tmp/cds-out SEED_USERS=0 AUTH_MODE=off \
    java -XX:ArchiveClassesAtExit=/app/app.jsa -XX:TieredStopAtLevel=1 -Dspring.context.exit=onRefresh \
         -jar /app/app.jar > /tmp/cds-training.log 2>&1 \
 || { tail -50 /tmp/cds-training.log; exit 1; }; rm -rf /tmp/cds-pg /tmp/cds-out /tmp/cds-training.log
ENV PORT=8080 \
    EXPORT_OUTPUT_DIR=/app/output
EXPOSE 8080
# Extra JVM flags: JDK_JAVA_OPTIONS (read by the java launcher), e.g. -Xmx512m.
ENTRYPOINT ["java", "-XX:SharedArchiveFile=/app/app.jsa", "-XX:MaxRAMPercentage=75", \
            "-jar", "/app/app.jar"]
