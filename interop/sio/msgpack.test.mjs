// The core scenarios again with socket.io-msgpack-parser on both sides, against an echo server
// started with --parser msgpack (SIO_MSGPACK_URL): events, acks both ways, binary, auth.
import msgpackParser from 'socket.io-msgpack-parser';
import { defineCoreSuite } from './core.mjs';
import { optionalEnv } from '../lib/helpers.mjs';

const url = optionalEnv('SIO_MSGPACK_URL', 'the msgpack parser tests (need an echo server with --parser msgpack)');

defineCoreSuite({
  label: 'socket.io-client + msgpack parser',
  url,
  opts: { parser: msgpackParser },
  skip: url ? false : 'SIO_MSGPACK_URL is not set',
});
