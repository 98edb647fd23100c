// details: the book's facts (Bookinfo's Ruby details service, in a few lines).
import { envPort, sendJson, startApp } from './app-server.mjs';

startApp('details', envPort('PORT'), (req, res, url) => {
  const m = /^\/details\/(\d+)$/.exec(url.pathname);
  if (req.method !== 'GET' || m === null) return sendJson(res, 404, { error: 'try GET /details/0' });
  sendJson(res, 200, {
    id: Number(m[1]), author: 'William Shakespeare', year: 1595, type: 'paperback', pages: 200,
    publisher: 'PublisherA', language: 'English', 'ISBN-10': '1234567890', 'ISBN-13': '123-1234567890',
  });
});
