// Calibration for the relay benchmark: a bare TCP pipe in its own process (no parsing, no
// protocol), so reading the simulator through it shows what two extra cross-process hops cost on
// this machine, the floor under any relay. Usage: tsx tcp-pipe.ts <listenPort> <targetPort>.
import net from 'node:net';

const [listenPort, targetPort] = process.argv.slice(2).map(Number);
if (!listenPort || !targetPort) {
  console.error('usage: tcp-pipe.ts <listenPort> <targetPort>');
  process.exit(2);
}
const server = net.createServer({ noDelay: true }, (client) => {
  const upstream = net.connect({ host: '127.0.0.1', port: targetPort, noDelay: true });
  client.pipe(upstream);
  upstream.pipe(client);
  const end = (): void => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', end);
  upstream.on('error', end);
  client.on('close', end);
  upstream.on('close', end);
});
server.listen(listenPort, '127.0.0.1', () => console.log('ready'));
process.on('SIGTERM', () => process.exit(0));
