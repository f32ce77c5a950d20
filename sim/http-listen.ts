// Listening and closing for the simulators' node:http servers: listen (backlog 1024), the
// http://host:port URL (an IPv6 host in brackets), and a close() that runs once and drops open connections.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ListeningServer {
  /** http://host:port */
  url: string;
  port: number;
  /** Stops listening and closes all connections; every call returns the same promise. */
  close(): Promise<void>;
}

export interface CloseHooks {
  /** Runs once, when close() is first called, before the server stops listening (e.g. cancel running jobs). */
  beforeClose?: () => void;
  /** Runs once after the server has closed; close() resolves when its promise does. */
  afterClose?: () => Promise<void>;
}

/** Listen on host:port (0: ephemeral); resolves once listening, rejects on a listen error. */
export async function listenHttp(server: Server, host: string, port: number, hooks: CloseHooks = {}): Promise<ListeningServer> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port, backlog: 1024 }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  const { beforeClose, afterClose } = hooks;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}`,
    port: bound,
    close: () => {
      if (closing === undefined) {
        const closed = new Promise<void>((resolve) => {
          beforeClose?.();
          server.close(() => resolve());
          server.closeAllConnections();
        });
        closing = afterClose === undefined ? closed : closed.then(afterClose);
      }
      return closing;
    },
  };
}
