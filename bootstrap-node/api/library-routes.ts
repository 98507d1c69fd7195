/**
 * REST endpoints that change what the node shares:
 *   POST   /api/files/upload      multipart/form-data, field `file`  -> {"file": <standard manifest>}
 *   DELETE /api/files/:fileId     ?delete=true also removes it from disk -> {"status": "removed", "file_id"}
 *
 * An upload streams to `<dir>/.uploads/<random>.part` (never the whole file in memory), then is moved
 * into shared_files under a sanitised, unused name and indexed before the answer, so the manifest is
 * final. The library emits `added`; announcing it to peers is the caller's business.
 */
import { constants as fsConstants, createWriteStream } from 'node:fs';
import { copyFile, link, lstat, mkdir, rm, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import multipart from '@fastify/multipart';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { HttpError, parseOr400 } from './http-errors.ts';
import { localFileManifest } from '../../lib/transfer/library.ts';
import type { FsLibrary } from '../../lib/transfer/library-fs.node.ts';
import { uniqueSafeName } from '../../lib/transfer/safe-name.ts';
import type { Logger } from '../../lib/util/logger.ts';

export interface LibraryRoutesContext {
  library: FsLibrary;
  /** The node's data dir: part files go to `<dir>/.uploads/`. */
  dir: string;
  /** --max-upload: largest file accepted, in bytes. */
  maxUploadBytes: number;
  /** Owner of the manifests we answer with: this node's peer id. */
  peerId: string;
  log: Logger;
}

export const UPLOADS_DIR_NAME = '.uploads';
/** The form field that carries the file (REST-API.md). */
const FILE_FIELD = 'file';
/** Limits on the parts of an upload form other than the file: a form with a few small text fields passes. */
const MAX_FORM_FIELDS = 32;
const MAX_FORM_FIELD_BYTES = 64 * 1024;
const MAX_FORM_PARTS = 64;
/** Tries at a free name when another writer takes ours between the check and the link. */
const MAX_NAME_CLAIMS = 20;
/** Part files are named by this many random bytes (hex), so concurrent uploads never share one. */
const PART_NAME_BYTES = 12;

const deleteQuery = z.object({ delete: z.enum(['true', 'false', '1', '0']).optional() });

export function registerLibraryRoutes(app: FastifyInstance, ctx: LibraryRoutesContext): void {
  const { library, maxUploadBytes, peerId, log } = ctx;
  if (!Number.isSafeInteger(maxUploadBytes) || maxUploadBytes < 1) {
    throw new RangeError(`maxUploadBytes must be a positive integer, not ${maxUploadBytes}`);
  }
  const uploadsDir = join(ctx.dir, UPLOADS_DIR_NAME);

  void app.register(multipart, {
    // Over the limit, busboy stops passing data on and sets `truncated`; we answer 413 ourselves.
    throwFileSizeLimit: false,
    // files: 1 makes busboy skip any further file part instead of stalling on it.
    limits: { fileSize: maxUploadBytes, files: 1, fields: MAX_FORM_FIELDS, fieldSize: MAX_FORM_FIELD_BYTES, parts: MAX_FORM_PARTS },
  });

  // Part files left by a crash are useless (an upload cannot resume): clear them before serving.
  app.addHook('onReady', async () => {
    await rm(uploadsDir, { recursive: true, force: true });
  });

  app.post('/api/files/upload', async (request) => {
    if (!request.isMultipart()) {
      throw new HttpError(400, `expected a multipart/form-data body with the file in field "${FILE_FIELD}"`);
    }
    const part = await request.file();
    if (part === undefined) throw new HttpError(400, `the form has no file field "${FILE_FIELD}"`);
    if (part.fieldname !== FILE_FIELD) {
      part.file.resume(); // let the request finish
      throw new HttpError(400, `the file must be in field "${FILE_FIELD}", not "${part.fieldname}"`);
    }

    await mkdir(uploadsDir, { recursive: true, mode: 0o700 });
    const partPath = join(uploadsDir, `${randomBytes(PART_NAME_BYTES).toString('hex')}.part`);
    try {
      // 'wx': a fresh file, never something already there (or a symlink planted at that name).
      await pipeline(part.file, createWriteStream(partPath, { flags: 'wx', mode: 0o600 }));
      if (part.file.truncated) {
        throw new HttpError(413, `upload is larger than the --max-upload limit of ${maxUploadBytes} bytes`);
      }
      const target = await moveIntoShared(partPath, library.sharedDir, part.filename);
      const file = await library.addFile(target);
      log.info({ file: file.name, fileId: file.fileId, size: file.size }, 'file uploaded and shared');
      return { file: localFileManifest(file, peerId) };
    } finally {
      await unlink(partPath).catch(() => {}); // gone already once moved
    }
  });

  app.delete<{ Params: { fileId: string } }>('/api/files/:fileId', async (request) => {
    const query = parseOr400(deleteQuery, request.query, 'query (expected delete=true or delete=false)');
    const fileId = request.params.fileId.toLowerCase();
    const deleteFromDisk = query.delete === 'true' || query.delete === '1';
    const removed = await library.remove(fileId, { deleteFromDisk });
    if (!removed) throw new HttpError(404, `no shared file has id ${request.params.fileId}`);
    log.info({ fileId, deleteFromDisk }, deleteFromDisk ? 'file deleted' : 'file unshared');
    return { status: 'removed', file_id: fileId };
  });
}

/**
 * Puts the finished part file into shared_files under the client's name made safe and unused, and
 * returns its path. A hard link claims the name atomically (it fails if the name exists); where links
 * are not possible (another filesystem) an exclusive copy does the same.
 */
async function moveIntoShared(partPath: string, sharedDir: string, clientName: string): Promise<string> {
  for (let attempt = 0; attempt < MAX_NAME_CLAIMS; attempt++) {
    const name = await uniqueSafeName(sharedDir, clientName, exists);
    const target = join(sharedDir, name);
    try {
      await link(partPath, target);
      return target;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') continue;
      if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'ENOTSUP') throw err;
    }
    try {
      await copyFile(partPath, target, fsConstants.COPYFILE_EXCL);
      return target;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  throw new HttpError(500, `could not find a free name for "${clientName}" in shared_files`);
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path); // a dangling symlink counts as taken
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}
