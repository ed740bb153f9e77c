// No input crashes the process: libtorch's exceptions arrive as JavaScript Errors
// carrying libtorch's message (without its C++ backtrace), and arguments of the
// wrong kind are TypeErrors naming the argument. The binding is also called
// directly, untyped, as plain JavaScript callers could.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Generator,
  Tensor,
  cat,
  cholesky,
  conv2d,
  crossEntropy,
  fromArray,
  grad,
  maxPool2d,
  ones,
  randn,
  scope,
  setNumThreads,
  solve,
  tensor,
  where,
  zeros,
} from '../src/tensor/index.js';
import { native } from '../src/tensor/native.js';

/** The binding without its types, to pass what TypeScript would refuse. */
const untyped = native as unknown as Record<string, (...args: unknown[]) => unknown>;
const NativeTensorClass = native.NativeTensor as unknown as new () => object;
const NativeGeneratorClass = native.Generator as unknown as new (...args: unknown[]) => object;

/** fn throws an Error whose message matches, with no C++ backtrace in it. */
function throwsLibtorch(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof Error, 'an Error');
    assert.match(e.message, message);
    assert.doesNotMatch(e.message, /Exception raised from|frame #/);
    return true;
  });
}
const idx = (...v: number[]): Tensor => fromArray(Int32Array.from(v));

describe("libtorch errors become Errors with libtorch's message", () => {
  test('shape mismatches', () =>
    scope(() => {
      throwsLibtorch(
        () => zeros([2, 3]).mm(zeros([2, 3])),
        /mat1 and mat2 shapes cannot be multiplied \(2x3 and 2x3\)/,
      );
      throwsLibtorch(
        () => zeros([2, 3]).add(zeros([4])),
        /size of tensor a \(3\) must match the size of tensor b \(4\)/,
      );
      throwsLibtorch(() => cat([zeros([2, 3]), zeros([2, 4])]), /Sizes of tensors must match/);
      throwsLibtorch(() => zeros([2, 3]).reshape([4, 2]), /shape '\[4, 2\]' is invalid for input of size 6/);
      throwsLibtorch(() => zeros([2, 3]).mT.view([6]), /view size is not compatible/);
      throwsLibtorch(() => zeros([3]).bmm(zeros([3])), /batch1 must be a 3D tensor/);
      throwsLibtorch(() => zeros([2, 2]).copy_(zeros([3])), /must match/);
      throwsLibtorch(() => zeros([2, 2]).addmm_(zeros([2, 3]), zeros([3, 3])), /Bad in-place call/);
      throwsLibtorch(() => zeros([2]).permute([0, 0]), /permute/);
    }));
  test('wrong dtypes', () =>
    scope(() => {
      throwsLibtorch(
        () => zeros([2, 3]).mm(zeros([3, 2], 'float64')),
        /expected scalar type Float but found Double|expected .* same dtype/,
      );
      throwsLibtorch(() => zeros([3]).indexSelect(0, zeros([1])), /Expected dtype int32 or int64 for index/);
      throwsLibtorch(
        () => where(zeros([2]), zeros([2]), zeros([2])),
        /where expected condition to be a boolean tensor/,
      );
      throwsLibtorch(
        () => zeros([2], 'int64').requiresGrad_(),
        /Only Tensors of floating point and complex dtype can require gradients/,
      );
      throwsLibtorch(() => crossEntropy(zeros([2, 3]), zeros([2])), /expected scalar type Long|Float/);
    }));
  test('indices out of range', () =>
    scope(() => {
      throwsLibtorch(() => zeros([3]).indexSelect(0, idx(7)), /index out of range in self/);
      throwsLibtorch(() => zeros([3]).narrow(0, 2, 5), /start \(2\) \+ length \(5\) exceeds dimension size \(3\)/);
      throwsLibtorch(() => zeros([3]).select(0, 3), /index 3 out of range/);
      throwsLibtorch(() => zeros([3]).gather(0, idx(-7)), /index -7 is out of bounds for dimension 0 with size 3/);
      throwsLibtorch(() => crossEntropy(zeros([2, 3]), idx(0, 9)), /Target 9 is out of bounds/);
      throwsLibtorch(() => zeros([2]).sum(5), /Dimension out of range/);
      throwsLibtorch(() => zeros([2]).softmax(3), /Dimension out of range/);
      throwsLibtorch(() => zeros([0]).max(0), /Expected reduction dim 0 to have non-zero size/);
    }));
  test('invalid values: negative or overflowing sizes, impossible allocations, bad strides, singular matrices', () =>
    scope(() => {
      throwsLibtorch(() => zeros([-1]), /negative dimension -1/);
      throwsLibtorch(() => zeros([2 ** 40, 2 ** 40]), /Storage size calculation overflowed/);
      throwsLibtorch(() => zeros([2 ** 50]), /can't allocate memory/);
      throwsLibtorch(() => ones([2]).repeat([-1]), /negative dimension/);
      throwsLibtorch(
        () => conv2d(zeros([1, 1, 4, 4]), zeros([1, 1, 2, 2]), { stride: 0 }),
        /non-positive stride is not supported/,
      );
      throwsLibtorch(
        () => conv2d(zeros([1, 1, 4, 4]), zeros([1, 1, 2, 2]), { groups: 0 }),
        /non-positive groups is not supported/,
      );
      throwsLibtorch(
        () => maxPool2d(zeros([1, 1, 4, 4]), 2, { padding: 5 }),
        /pad should be at most half of (effective )?kernel size/, // libtorch 2.x says "effective"
      );
      throwsLibtorch(
        () =>
          cholesky(
            tensor(
              [
                [1, 2],
                [2, 1],
              ],
              'float64',
            ),
          ),
        /not positive-definite/,
      );
      throwsLibtorch(() => solve(zeros([2, 2], 'float64'), zeros([2], 'float64')), /singular/);
      throwsLibtorch(() => zeros([2]).clamp(null, null), /At least one of 'min' or 'max' must not be None/);
      throwsLibtorch(() => cat([]), /non-empty list of Tensors/);
    }));
  test('autograd misuse', () =>
    scope(() => {
      throwsLibtorch(() => grad(zeros([1]).sum(), [zeros([1])]), /does not require grad/);
      const x = zeros([2], 'float64').requiresGrad_();
      throwsLibtorch(() => grad(x.mul(2), [x]), /grad can be implicitly created only for scalar outputs/);
      throwsLibtorch(
        () => grad(x.mul(2), [x], { gradOutputs: [zeros([3], 'float64')] }),
        /invalid gradient at index 0/,
      );
      throwsLibtorch(() => x.add_(1), /a leaf Variable that requires grad is being used in an in-place operation/);
      throwsLibtorch(() => grad([], []), /grad requires non-empty inputs/);
      const y = x.exp();
      throwsLibtorch(() => grad(y.mul_(2).sum(), [x]), /modified by an inplace operation/);
    }));
});

describe("the binding's own checks", () => {
  test('a disposed tensor cannot be used, as receiver or as argument, and disposing twice is harmless', () => {
    const t = ones([2]);
    const u = ones([2]);
    t.dispose();
    t.dispose();
    assert.equal(t.disposed, true);
    throwsLibtorch(() => t.add(1), /already disposed/);
    throwsLibtorch(() => u.add(t), /already disposed/);
    throwsLibtorch(() => t.toArray(), /already disposed/);
    throwsLibtorch(() => t.item(), /already disposed/);
    throwsLibtorch(() => t.shape, /already disposed/);
    throwsLibtorch(() => cat([u, t]), /already disposed/);
    assert.equal(t.bytes, 0);
    u.dispose();
  });
  test('a tensor disposed while a call reads its other arguments (by a getter) is an Error, not a crash', () => {
    const t = ones([3]);
    const shape = [3];
    Object.defineProperty(shape, 0, {
      get: () => {
        t.dispose();
        ones([1]).dispose();
        return 3;
      },
    });
    assert.throws(() => untyped.reshape(t.handle, shape), Error);
    assert.equal(t.disposed, true);
    const data = new Float64Array(4);
    const detaching = [4];
    Object.defineProperty(detaching, 0, {
      get: () => {
        structuredClone(data.buffer, { transfer: [data.buffer] });
        return 4;
      },
    });
    assert.throws(() => fromArray(data, detaching), { name: 'RangeError', message: /array has 0/ });
  });
  test('fromArray: wrong length, negative or overflowing shapes, unsupported arrays', () =>
    scope(() => {
      assert.throws(() => fromArray(new Float32Array(5), [2, 3]), {
        name: 'RangeError',
        message: /shape holds 6 elements but the array has 5/,
      });
      assert.throws(() => fromArray(new Float32Array(0), [-1, 0]), {
        name: 'RangeError',
        message: /negative dimension/,
      });
      assert.throws(() => fromArray(new Float32Array(0), [2 ** 32, 2 ** 32]), {
        name: 'RangeError',
        message: /more elements than an int64 counts/,
      });
      assert.throws(() => untyped.fromArray(new Int8Array(2), [2]), {
        name: 'TypeError',
        message: /unsupported typed array/,
      });
      assert.throws(() => untyped.fromArray([1, 2], [2]), {
        name: 'TypeError',
        message: /argument 1 must be a typed array/,
      });
      assert.throws(() => untyped.fromArray(new Float64Array(2), 2), {
        name: 'TypeError',
        message: /argument 2 must be an array of integers/,
      });
    }));
  test('item() needs exactly one element', () =>
    scope(() => {
      throwsLibtorch(() => zeros([2]).item(), /item\(\) needs a tensor with one element, got shape \[2\]/);
      throwsLibtorch(() => zeros([0]).item(), /got shape \[0\]/);
    }));
  test('shapes and integers must be exact integers: strings, fractions, NaN, ±∞ and beyond 2^53 are TypeErrors', () =>
    scope(() => {
      for (const shape of ['abc', [2.5], [NaN], [Infinity], [2 ** 60], ['3'], [null], {}]) {
        assert.throws(
          () => untyped.zeros(shape, 'float32'),
          { name: 'TypeError', message: /argument 1.* must be (an array of integers|an integer)/ },
          String(shape),
        );
      }
      assert.throws(() => untyped.narrow(zeros([3]).handle, 0, 0.5, 1), {
        name: 'TypeError',
        message: /argument 3 must be an integer/,
      });
      assert.throws(() => untyped.eye(1e300, 'float32'), {
        name: 'TypeError',
        message: /argument 1 must be an integer/,
      });
      assert.throws(() => untyped.sum(zeros([3]).handle, null, 'yes'), {
        name: 'TypeError',
        message: /argument 3 must be a boolean/,
      });
      assert.throws(() => untyped.zeros([2], 'int32'), { name: 'TypeError', message: /unknown dtype 'int32'/ });
      assert.throws(() => untyped.mseLoss(zeros([2]).handle, zeros([2]).handle, 'avg'), {
        name: 'TypeError',
        message: /unknown reduction 'avg'/,
      });
    }));
  test('anything but a tensor where a tensor is expected is a TypeError', () =>
    scope(() => {
      const gen = new Generator(1);
      const impostors: unknown[] = [
        undefined,
        null,
        3,
        'tensor',
        {},
        [],
        new Float32Array(2),
        ones([2]),
        gen.handle,
        Object.create(native.NativeTensor.prototype as object),
        Object.setPrototypeOf({}, native.NativeTensor.prototype as object),
      ];
      for (const v of impostors) {
        assert.throws(() => untyped.exp(v), { name: 'TypeError', message: /argument 1 must be a tensor/ }, String(v));
        assert.throws(
          () => untyped.cat([ones([1]).handle, v], 0),
          { name: 'TypeError', message: /argument 1\[1\] must be a tensor/ },
          String(v),
        );
      }
      assert.throws(() => untyped.add(ones([2]).handle, '1'), {
        name: 'TypeError',
        message: /argument 2 must be a tensor/,
      });
      assert.throws(() => untyped.exp(), { name: 'TypeError', message: /argument 1 must be a tensor/ });
      assert.throws(() => untyped.cat('not a list', 0), {
        name: 'TypeError',
        message: /argument 1 must be an array of tensors/,
      });
    }));
  test('a NativeTensor constructed from JavaScript holds no tensor and is refused', () => {
    const empty = new NativeTensorClass();
    assert.throws(() => untyped.exp(empty), { name: 'TypeError', message: /not a tensor made by flatdist/ });
    assert.throws(() => untyped.toArray(empty), { name: 'TypeError', message: /not a tensor made by flatdist/ });
    assert.throws(() => (empty as { shape: number[] }).shape, {
      name: 'TypeError',
      message: /not a tensor made by flatdist/,
    });
  });
  test('prototype methods called on other objects throw instead of crashing', () => {
    const shape = Object.getOwnPropertyDescriptor(native.NativeTensor.prototype, 'shape')?.get;
    assert.ok(shape);
    assert.throws(() => shape.call({}));
    assert.throws(() => shape.call(5));
    assert.throws(() => (native.NativeTensor.prototype as { dispose(): void }).dispose.call({}));
    assert.throws(() => (native.Generator.prototype as { getState(): Uint8Array }).getState.call({}));
  });
  test("generators: seeds are unsigned 64-bit bigints, states must be a generator's, draws need one", () => {
    assert.throws(() => new NativeGeneratorClass('x'), { name: 'TypeError', message: /seed must be a bigint/ });
    assert.throws(() => new Generator(-1), { name: 'RangeError', message: /64 unsigned bits/ });
    assert.throws(() => new Generator(2n ** 64n), { name: 'RangeError', message: /64 unsigned bits/ });
    const gen = new Generator(5);
    throwsLibtorch(() => {
      gen.state = new Uint8Array(3);
    }, /RNG state size/);
    assert.throws(
      () => {
        gen.state = new Float64Array(3) as unknown as Uint8Array;
      },
      { name: 'TypeError', message: /Uint8Array/ },
    );
    assert.throws(() => untyped.randn([2], 'float32', Object.create(native.Generator.prototype as object)), {
      name: 'TypeError',
      message: /argument 3 must be a generator/,
    });
    assert.throws(() => untyped.randn([2], 'float32', {}), {
      name: 'TypeError',
      message: /argument 3 must be a generator/,
    });
    assert.throws(() => randn([2], gen, 'int64'), { name: 'TypeError', message: /float32 or float64/ });
    throwsLibtorch(() => untyped.randint(5, 1, [3], gen.handle), /from=5 >= to=1/);
  });
  test('thread counts outside 1 … 4 × hardware threads are RangeErrors', () => {
    assert.throws(() => setNumThreads(0), { name: 'RangeError' });
    assert.throws(() => setNumThreads(100000), { name: 'RangeError', message: /thread count must be between 1 and/ });
    assert.throws(() => setNumThreads(1.5), { name: 'TypeError' });
  });
});

test('after all these errors the process computes on, and scopes freed what the failures left behind', () => {
  let leaked: Tensor | undefined;
  assert.throws(() =>
    scope(() => {
      leaked = ones([3]);
      return leaked.mm(leaked);
    }),
  );
  assert.equal(leaked?.disposed, true);
  assert.equal(
    scope(() =>
      ones([2, 2])
        .mm(ones([2, 2]))
        .sum()
        .item(),
    ),
    8,
  );
});
