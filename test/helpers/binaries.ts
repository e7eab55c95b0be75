/** Finding the Debian binaries tests need; shared with the demo in scripts/lib. */
export { requireBinary, which } from '../../scripts/lib/binaries';
