package com.cdcexport.support;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * HTTP/1.1 over a plain socket, byte for byte as given: for request targets and headers that HTTP client
 * libraries normalize or refuse (/a//b, %2e%2e, a forged Host). One request per connection.
 */
public final class RawHttp {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    private RawHttp() {
    }

    /** Sends "{@code method target HTTP/1.1}", Host (unless given) and {@code headers}, and reads the answer. */
    public static Response send(int port, String method, String target, Map<String, String> headers) {
        return send(port, method, target, headers, null);
    }

    /** As above, with {@code formBody} (when not null) as an application/x-www-form-urlencoded body. */
    public static Response send(int port, String method, String target, Map<String, String> headers,
                                String formBody) {
        StringBuilder request = new StringBuilder(method).append(' ').append(target).append(" HTTP/1.1\r\n");
        if (headers.keySet().stream().noneMatch(h -> h.equalsIgnoreCase("Host"))) {
            request.append("Host: localhost:").append(port).append("\r\n");
        }
        headers.forEach((name, value) -> request.append(name).append(": ").append(value).append("\r\n"));
        if (formBody != null) {
            request.append("Content-Type: application/x-www-form-urlencoded\r\n")
                    .append("Content-Length: ").append(formBody.getBytes(StandardCharsets.ISO_8859_1).length)
                    .append("\r\n");
        }
        request.append("Connection: close\r\n\r\n");
        if (formBody != null) {
            request.append(formBody);
        }
        try (Socket socket = new Socket("localhost", port)) {
            socket.setSoTimeout(10_000);
            socket.getOutputStream().write(request.toString().getBytes(StandardCharsets.ISO_8859_1));
            socket.getOutputStream().flush();
            return parse(socket.getInputStream().readAllBytes());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Response parse(byte[] raw) throws IOException {
        String text = new String(raw, StandardCharsets.ISO_8859_1);
        int headerEnd = text.indexOf("\r\n\r\n");
        if (headerEnd < 0) {
            throw new IOException("No complete HTTP response: " + text);
        }
        String[] lines = text.substring(0, headerEnd).split("\r\n");
        int status = Integer.parseInt(lines[0].split(" ")[1]);
        Map<String, String> headers = new LinkedHashMap<>();
        for (int i = 1; i < lines.length; i++) {
            int colon = lines[i].indexOf(':');
            // A repeated header (Set-Cookie) keeps every value, one a line.
            headers.merge(lines[i].substring(0, colon).strip().toLowerCase(Locale.ROOT),
                    lines[i].substring(colon + 1).strip(), (first, next) -> first + "\n" + next);
        }
        byte[] body = java.util.Arrays.copyOfRange(raw, headerEnd + 4, raw.length);
        if ("chunked".equalsIgnoreCase(headers.get("transfer-encoding"))) {
            body = dechunk(new java.io.ByteArrayInputStream(body));
        }
        return new Response(status, headers, new String(body, StandardCharsets.UTF_8));
    }

    private static byte[] dechunk(InputStream in) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        while (true) {
            StringBuilder size = new StringBuilder();
            for (int c = in.read(); c != '\n'; c = in.read()) {
                if (c < 0) {
                    return out.toByteArray();
                }
                size.append((char) c);
            }
            int length = Integer.parseInt(size.toString().strip().split(";")[0], 16);
            if (length == 0) {
                return out.toByteArray();
            }
            out.write(in.readNBytes(length));
            in.readNBytes(2);
        }
    }

    /** @param headers by lowercase name; a repeated one with its values one a line */
    public record Response(int status, Map<String, String> headers, String body) {

        public String header(String name) {
            return headers.get(name.toLowerCase(Locale.ROOT));
        }

        public JsonNode json() {
            return JSON.readTree(body);
        }
    }
}
