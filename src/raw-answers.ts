/** JSON answers written straight to a socket, for what never becomes an Express request (malformed HTTP, CONNECT). */
import http from 'node:http';
import type { Duplex } from 'node:stream';

/** Malformed HTTP gets a JSON 4xx too, then the socket is closed. */
export function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (!socket.writable || error.code === 'ECONNRESET') {
    socket.destroy();
    return;
  }
  if (error.code === 'HPE_HEADER_OVERFLOW') return answerRaw(socket, 431, 'headers_too_large', 'Request headers are too large.');
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') return answerRaw(socket, 408, 'request_timeout', 'The request was not received in time.');
  answerRaw(socket, 400, 'invalid_request', 'Malformed HTTP request.');
}

/** Writes one OpenAI-shaped error answer and closes the connection. */
export function answerRaw(socket: Duplex, status: number, code: string, message: string): void {
  const body = JSON.stringify({ error: { message, type: 'invalid_request_error', param: null, code } });
  const reason = http.STATUS_CODES[status];
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}
