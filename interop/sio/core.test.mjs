// The official socket.io-client 4.8.4 (default parser) against the echo server at SIO_URL.
import { defineCoreSuite } from './core.mjs';
import { SIO_URL } from './client.mjs';

defineCoreSuite({ label: 'socket.io-client', url: SIO_URL });
