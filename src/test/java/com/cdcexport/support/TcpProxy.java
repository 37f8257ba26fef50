package com.cdcexport.support;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A TCP forwarder on 127.0.0.1 to another local port that can be cut and restored: while it is cut, open
 * connections are reset and new ones are refused, as when a store's endpoint goes away, while the store behind it
 * keeps its state.
 */
public final class TcpProxy implements AutoCloseable {

    private final int port;
    private final int target;
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private volatile ServerSocket listener;

    private TcpProxy(int port, int target) {
        this.port = port;
        this.target = target;
    }

    public static TcpProxy to(int targetPort) {
        TcpProxy proxy = new TcpProxy(ServiceProcess.freePort(), targetPort);
        proxy.restore();
        return proxy;
    }

    public int port() {
        return port;
    }

    /** Listens again on the same port. */
    public void restore() {
        try {
            ServerSocket server = new ServerSocket();
            server.setReuseAddress(true);
            server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
            listener = server;
            Thread accept = new Thread(() -> acceptLoop(server), "tcp-proxy-" + port);
            accept.setDaemon(true);
            accept.start();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void acceptLoop(ServerSocket server) {
        while (!server.isClosed()) {
            try {
                Socket client = server.accept();
                Socket upstream = new Socket(InetAddress.getLoopbackAddress(), target);
                sockets.add(client);
                sockets.add(upstream);
                pump(client, upstream);
                pump(upstream, client);
            } catch (IOException closed) {
                return;
            }
        }
    }

    private void pump(Socket from, Socket to) {
        Thread thread = new Thread(() -> {
            try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
                in.transferTo(out);
            } catch (IOException cut) {
                // the other side or cut() closed it
            } finally {
                closeQuietly(from);
                closeQuietly(to);
            }
        }, "tcp-proxy-pump");
        thread.setDaemon(true);
        thread.start();
    }

    /** The endpoint goes away: the port refuses connections and open ones are reset. */
    public void cut() {
        closeQuietly(listener);
        for (Socket socket : sockets) {
            try {
                socket.setSoLinger(true, 0); // RST, not a polite FIN
            } catch (IOException ignored) {
                // already closed
            }
            closeQuietly(socket);
        }
        sockets.clear();
    }

    private static void closeQuietly(AutoCloseable closeable) {
        try {
            closeable.close();
        } catch (Exception ignored) {
            // closing is all we want
        }
    }

    @Override
    public void close() {
        cut();
    }
}
