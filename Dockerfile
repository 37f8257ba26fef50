# syntax=docker/dockerfile:1
# Build stage: dependencies first, so code changes do not re-download them.
FROM maven:3.9-eclipse-temurin-17 AS build
WORKDIR /build
COPY pom.xml .
RUN mvn -B -q dependency:go-offline
COPY src ./src
RUN mvn -B -q package -DskipTests

# Run stage: a JRE and the jar, as an unprivileged user.
FROM eclipse-temurin:17-jre
RUN groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home app \
 && mkdir -p /app/output \
 && chown -R app:app /app
WORKDIR /app
COPY --from=build /build/target/cdc-export-*.jar /app/app.jar
USER app
ENV PORT=8080 \
    EXPORT_OUTPUT_DIR=/app/output
EXPOSE 8080
ENTRYPOINT ["java", "-XX:MaxRAMPercentage=75", "-jar", "/app/app.jar"]
